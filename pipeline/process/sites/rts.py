"""RTS (Radio Télévision Suisse, rts.ch): selectors and boilerplate patterns.

Line conventions of RTS articles, in their HTML and in plain-text dumps of it:
- captions end with the credit in brackets: `… [Keystone - Jean Dupont]`, `… [RTS]`, sometimes
  followed by the credit again (`[Sputnik - afp]Sputnik - afp`);
- audio/video blocks: `Title / Show / 20 sec. / le 13 janvier 2022`;
- related links `>> Lire: Title`, `>> Lire aussi: Title`, `>> Voir: …`; other `>>` lines are
  teasers announcing the media block that follows (`>> Les explications de … :`);
- agency signature on its own line: `afp/jop`, `ats/xyz`, `afp/reuters/ats/xyz`, `jop avec afp`;
- stamps `Publié`, `Modifié`, `Publié le 13 janvier 2022 à 10:46 Modifié à 15:21`.
"""

from __future__ import annotations

from pipeline.process.sites import shared
from pipeline.process.sites.base import HtmlSelectors, SiteProfile

_SHOWS_VIDEO = (
    "19h30", "le 19h30", "12h45", "le 12h45", "mise au point", "temps présent", "infrarouge",
    "géopolitis", "geopolitis", "couleurs locales", "a bon entendeur", "À bon entendeur",
    "36.9°", "pardonnez-moi", "rts info", "tataki", "nouvo", "le court du jour", "facts",
    "sport dernière", "sport week-end", "le 12h45 sport",
)
_SHOWS_AUDIO = (
    "le journal horaire", "tout un monde", "forum", "la matinale", "le 12h30",
    "le journal du matin", "le journal de 18h", "on en parle", "vertigo", "cqfd", "le point j",
    "histoire vivante", "l'invité-e de la matinale", "l'invité de la matinale", "détours",
    "prise de terre", "la 1ère", "le 6h-9h", "tribu", "médialogues", "les beaux parleurs",
    "geopolitis audio", "le journal de 12h30", "le journal de 8h",
)

PROFILE = SiteProfile(
    name="rts",
    hosts=("rts.ch",),
    language="fr",
    timezone="Europe/Zurich",
    html=HtmlSelectors(
        title="article h1.article-title, article h1, main h1, h1",
        lead="article .article-lead, article .article__lead, article p.lead, .article-lead, .chapeau",
        body="article .article-body, article .article__body, .article-body, [itemprop=articleBody]",
        remove=(
            "nav, header.site-header, body > header, footer, .site-footer, aside.newsletter, "
            ".newsletter, .newsletter-box, .cookie-banner, #cookie-banner, .cookie-consent, "
            ".share-bar, .share, .social-share, .related-articles, .article-related, "
            ".most-read, .ad, .advertisement, .pub, form, button, iframe, .visually-hidden, "
            ".sr-only, .breadcrumb, .tags, .article-tags, .comments"
        ),
        figure="figure",
        caption="figcaption",
        credit=".credit, .copyright, .caption-credit",
        media=".media-block, figure.media, [data-media-type]",
        media_title=".media-title",
        media_show=".media-show, .show-name",
        media_duration=".media-duration, .duration",
        media_date=".media-date",
        related_inline="aside.inline-related, aside.read-also, .article-inline-related",
        signature=".article-signature, .signature",
        section=".breadcrumb a, .breadcrumb li, .article-rubric",
        authors=".article-author, [rel=author], .author-name",
        time_published="time[itemprop=datePublished], .published time, time.published",
        time_modified="time[itemprop=dateModified], .modified time, time.modified",
    ),
    boilerplate_lines=frozenset({
        # navigation
        "Accueil", "Info", "Sport", "Culture", "Suisse", "Monde", "Économie", "Economie",
        "Sciences-Tech", "Sciences", "Environnement", "Santé", "Vidéos", "Audio", "Podcasts",
        "Play RTS", "RTS Info", "RTS Sport", "RTS Culture", "RTS", "Menu", "Rechercher",
        "Recherche", "Se connecter", "Connexion", "Mon compte", "Fermer", "Retour",
        "Haut de page", "Retour en haut", "À la une", "A la une", "Les plus lus",
        "Les plus vus", "Dernières news", "Toute l'info", "Régions", "Émissions", "Emissions",
        "Direct", "En direct", "TV", "Radio", "Programme TV", "Météo",
        # share bar
        "Partager", "Partager l'article", "Partager cet article", "Facebook", "Twitter", "X",
        "WhatsApp", "LinkedIn", "E-mail", "Email", "Envoyer par e-mail", "Envoyer par email",
        "Copier le lien", "Lien copié", "Imprimer", "Écouter l'article", "Ecouter l'article",
        # cookie banner buttons
        "Tout accepter", "Accepter", "Accepter et fermer", "Refuser", "Tout refuser",
        "Paramètres", "Personnaliser", "J'accepte", "OK", "En savoir plus",
        # players, newsletter, footer
        "Lire la suite", "Voir plus", "Afficher plus", "Charger plus", "Lire la vidéo",
        "Écouter", "Ecouter", "Regarder", "Newsletter", "Newsletters", "S'abonner",
        "Je m'abonne", "S'inscrire", "Contact", "Contacts", "Mentions légales",
        "Conditions d'utilisation", "Conditions générales", "Protection des données",
        "Politique de confidentialité", "Impressum", "Plan du site", "Aide", "FAQ",
        "Publicité", "Annonce", "Emploi", "Jobs", "Médias", "Presse", "A propos", "À propos",
        "Radio Télévision Suisse", "SSR", "RTSinfo", "Vidéo", "Galerie photos", "Photos",
        "Aller au contenu", "Aller au contenu principal", "Passer au contenu principal", "Aller au menu",
        "Cookies", "J'ai compris", "Continuer sans accepter", "Gérer mes préférences",
        "Accepter les cookies", "Refuser les cookies", "Sauvegarder", "Enregistrer", "Chargement",
        "Lecture en cours", "Ajouter à mes favoris", "Favoris", "Suivre", "Lire plus tard",
        "Plus d'info", "Plus d'infos", "rts.ch", "Toute l'actualité", "L'actualité en continu",
        "Afficher le contenu", "Autoriser", "Charger le contenu",
    }) | shared.BUTTON_LINES,
    boilerplate_section_headers=frozenset({
        "Sur le même sujet", "Sur le même thème", "Articles liés", "Article lié",
        "Nos articles sur le sujet", "Plus d'articles", "Dans la même rubrique",
        "Les articles les plus lus", "Les plus récents", "Dernières vidéos", "À découvrir",
        "A découvrir", "Vous aimerez aussi", "Ces articles pourraient vous intéresser",
        "Lire aussi", "À lire aussi", "A lire aussi", "Mots-clés", "Tags", "Pour aller plus loin",
        "À voir aussi", "A voir aussi", "À écouter aussi", "A écouter aussi", "Nos autres articles",
    }),
    boilerplate_patterns=(
        # cookie banners and consent placeholders
        r"^(?:ce site(?: web)?|notre site|le site|nous|rts|la rts|rts\.ch)\b.{0,80}\b(?:utilis|recour|dépos|emploi)\w*\b.{0,80}\bcookies?\b",
        r"^(?:paramètres|gestion|réglages|préférences|paramétrer|personnaliser) (?:des |les |vos )?cookies\b",
        r"^(?:accepter|refuser|autoriser|gérer) (?:tous |toutes )?(?:les |vos )?cookies\b",
        r"^en (?:poursuivant|continuant) (?:votre |la )?navigation\b",
        r"^en cliquant sur\b.{0,80}\b(?:accepte[rz]?|consente[rz]?)\b",
        r"^(?:vos |gérer (?:vos |les )?)?(?:paramètres|préférences) (?:de confidentialité|de consentement)\b",
        r"\bcookies\b.{0,60}\b(?:consentement|politique|en savoir plus|acceptez)\b",
        r"^(?:veuillez |merci d')?(?:accepter|activer) (?:les )?(?:cookies|javascript)\b",
        r"^(?:ce contenu|cette vidéo|ce média) (?:n'est pas disponible|est bloqué|nécessite)\b",
        r"^votre navigateur (?:ne supporte pas|n'est pas)\b",
        r"^ce contenu externe ne peut pas être affiché\b",
        r"^pour (?:voir|afficher|consulter) ce contenu,? vous devez (?:autoriser|accepter)\b",
        # embedded social posts: attribution lines (the quoted text itself stays)
        r"^(?:voir cette publication sur instagram|une publication partagée par)\b",
        r"^[—–-]\s*[^()\n]{1,60}\(@\w{1,30}\)\s+\S+\s+\d{1,2},?\s+\d{4}$",
        r"^pic\.twitter\.com/\w+$",
        r"^pour (?:lire|voir|écouter) (?:cette|ce) (?:vidéo|contenu|audio|média)\b",
        # share bar, newsletter box
        r"^partager (?:sur|par|via|l'article|cet article|ce contenu)\b",
        r"^(?:inscrivez-vous|abonnez-vous|recevez|découvrez) .{0,80}\bnewsletters?\b",
        r"^(?:s'abonner|je m'abonne|inscription) (?:à|aux) (?:la |notre |nos )?newsletters?\b",
        r"^(?:la |notre )?newsletter (?:rts|info|de la rts)\b.{0,60}$",
        r"^votre (?:adresse )?e-?mail\b.{0,40}$",
        r"^recevez (?:chaque|tous les) (?:jour|matin|soir|semaine)s?\b.{0,80}\b(?:actualité|info|essentiel)",
        # footer
        r"^(?:©|\(c\)|copyright)\s*(?:\d{4}\s*)?(?:rts|ssr|radio télévision suisse)\b",
        r"^rts\s*[-–—]\s*radio télévision suisse\b",
        # breadcrumbs: `Info > Monde`, `Accueil / Info / Suisse`
        r"^(?:accueil|info|sport|culture|rts)(?:\s*[>›»/|]\s*[\w'’ -]{1,30}){1,4}$",
        # reading time, comments counters
        r"^(?:temps de )?lecture\s*:?\s*\d+\s*min\.?$",
        r"^\d+\s+commentaires?$",
        *shared.BOILERPLATE_PATTERNS,
    ),
    stamp_keywords=(
        "Publié", "Publiée", "Modifié", "Modifiée", "Mis à jour", "Mise à jour",
        "Dernière mise à jour", "Actualisé", "Actualisée", "Mis en ligne", "Mise en ligne",
        "Publication", "Modification",
    ),
    stamp_fillers=("le", "à", "a", "hier", "aujourd'hui", "il y a", "heures", "heure", "minutes",
                   "min", "h", "et", "depuis"),
    related_pattern=(
        r"^(?:>>|»|→)\s*(?P<label>(?:à |a )?(?:lire|relire|voir|revoir|écouter|ecouter|réécouter|"
        r"regarder|consulter|découvrir)(?:[^:]{0,50}))\s*:\s*(?P<title>\S.*)$"
    ),
    related_label_pattern=(
        r"^(?:>>|»|→)\s*(?P<label>(?:à |a )?(?:lire|relire|voir|revoir|écouter|ecouter|réécouter|"
        r"regarder|consulter|découvrir)(?: aussi| également| encore)?)\s*:?\s*$"
    ),
    teaser_pattern=r"^(?:>>|»)\s*\S.*$",
    caption_pattern=r"^(?P<text>.*?)\s*\[(?P<credit>[^\[\]]{2,120})\]\s*(?P<tail>[^\[\]]{0,120})$",
    credit_separator=r"\s+-\s+|\s*/\s*",
    media_separator=r"\s+/\s+",
    show_kinds={**{s.casefold(): "video" for s in _SHOWS_VIDEO}, **{s.casefold(): "audio" for s in _SHOWS_AUDIO}},
    recover_lead=True,
    agencies=shared.AGENCIES,
    signature_pattern=(
        r"^[a-zà-ÿ][a-zà-ÿ0-9.-]{0,20}(?:(?:\s*/\s*|\s+avec\s+|\s+et\s+|\s*,\s*)[a-zà-ÿ][a-zà-ÿ0-9.-]{0,20}){1,6}$"
    ),
    author_line_pattern=(
        r"^(?:sujet (?:radio|tv|télé|télévision|web)|adaptation web|texte web|texte|"
        r"reportage(?: radio| tv)?|interview(?: radio| tv)?|réalisation|avec la collaboration de|"
        r"propos recueillis par|un article de)\s*:?\s+(?P<names>[A-ZÀ-Ýa-zà-ÿ][\w'’. -]{1,60}"
        r"(?:(?:,\s*|\s+et\s+)[A-ZÀ-Ýa-zà-ÿ][\w'’. -]{1,60}){0,4})$"
    ),
    title_suffix_pattern=r"\s*[-–|]\s*(?:rts\.ch|rts info|rts)\b.*$",
)
