package org.newsflow.engine;

import java.util.List;
import java.util.Map;

import org.opensearch.common.xcontent.XContentType;
import org.opensearch.core.xcontent.MediaType;
import org.opensearch.core.xcontent.spi.MediaTypeProvider;

/**
 * The Elasticsearch 9 client sends {@code application/vnd.elasticsearch+json; compatible-with=9}
 * (and {@code +x-ndjson} for bulk) as Content-Type and Accept, and rewrites any header a caller
 * sets to that form. OpenSearch reads those bodies as the JSON they are. Loaded by
 * {@code ServiceLoader} from META-INF/services.
 */
public final class ElasticMediaTypes implements MediaTypeProvider {

    @Override
    public List<MediaType> getMediaTypes() {
        return List.of();
    }

    @Override
    public Map<String, MediaType> getAdditionalMediaTypes() {
        return Map.of(
            "application/vnd.elasticsearch+json", XContentType.JSON,
            "application/vnd.elasticsearch+x-ndjson", XContentType.JSON
        );
    }
}
