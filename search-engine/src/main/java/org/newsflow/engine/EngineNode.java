package org.newsflow.engine;

import java.util.Collection;
import java.util.List;

import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.env.Environment;
import org.opensearch.index.mapper.MapperExtrasPlugin;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.join.ParentJoinPlugin;
import org.opensearch.node.Node;
import org.opensearch.painless.PainlessPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.search.aggregations.matrix.MatrixAggregationPlugin;
import org.opensearch.transport.Netty4Plugin;

/** An OpenSearch node whose modules are classpath plugins instead of a distribution's modules/ folder. */
final class EngineNode extends Node {

    /** What a stock distribution loads from modules/ and the project uses (HTTP, analyzers,
     *  reindex, mapper extras, painless), plus the two shims for the Elasticsearch client. */
    static final List<Class<? extends Plugin>> PLUGINS = List.of(
        Netty4Plugin.class,
        CommonAnalysisPlugin.class,
        ReindexPlugin.class,
        MapperExtrasPlugin.class,
        PainlessPlugin.class,
        MatrixAggregationPlugin.class,
        ParentJoinPlugin.class,
        ElasticClientCompatPlugin.class
    );

    EngineNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
        super(environment, plugins, true);
    }
}
