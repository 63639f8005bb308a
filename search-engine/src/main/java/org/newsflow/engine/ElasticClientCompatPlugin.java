package org.newsflow.engine;

import java.util.function.UnaryOperator;

import org.opensearch.client.node.NodeClient;
import org.opensearch.common.util.concurrent.ThreadContext;
import org.opensearch.plugins.ActionPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.rest.RestChannel;
import org.opensearch.rest.RestHandler;
import org.opensearch.rest.RestRequest;

/**
 * The official Elasticsearch Python client (9.x) refuses any 2xx answer that lacks
 * {@code X-Elastic-Product: Elasticsearch} (its product check). Every REST handler is wrapped
 * so that its response carries that header; the client's compatibility media types are read
 * as JSON by {@link ElasticMediaTypes}. Nothing else of the engine's behaviour changes.
 */
public final class ElasticClientCompatPlugin extends Plugin implements ActionPlugin {

    static final String PRODUCT_HEADER = "X-Elastic-Product";

    @Override
    public UnaryOperator<RestHandler> getRestHandlerWrapper(ThreadContext threadContext) {
        return handler -> new RestHandler.Wrapper(handler) {
            @Override
            public void handleRequest(RestRequest request, RestChannel channel, NodeClient client) throws Exception {
                threadContext.addResponseHeader(PRODUCT_HEADER, "Elasticsearch");
                super.handleRequest(request, channel, client);
            }
        };
    }
}
