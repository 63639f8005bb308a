"""Site profiles: one small module per site (selectors and boilerplate patterns)."""
