package org.newsflow.engine;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.opensearch.Version;
import org.opensearch.action.admin.cluster.health.ClusterHealthResponse;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.unit.TimeValue;
import org.opensearch.env.Environment;
import org.opensearch.http.HttpServerTransport;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;

/**
 * newsflow's local search engine: one OpenSearch node, HTTP on 127.0.0.1, security off.
 *
 * <pre>
 * java -Xmx1g -cp ... org.newsflow.engine.Engine [--data DIR] [--port N] [--url-file FILE] [--exit-with PID]
 * </pre>
 *
 * --data DIR     keep the indices there (created when missing); without it a temporary
 *                directory is used and deleted when the engine stops.
 * --port N       HTTP port (default 9200; 0 picks a free one).
 * --url-file F   write the URL there once the cluster is green (atomically: the file appears
 *                whole or not at all).
 * --exit-with P  stop when process P ends (a test runner killed without cleanup).
 * --cluster-name NAME   default "newsflow-local"; the test suite's engine is "newsflow-test",
 *                the name its destructive tests check before they delete news-articles*.
 *
 * Prints one line "newsflow-engine: ready ..." with the URL when green. SIGTERM or SIGINT close
 * the node (its data flushed) and the process exits 0.
 */
public final class Engine {

    static final String NODE_NAME = "newsflow-engine";

    private Engine() {}

    public static void main(String[] argv) throws Exception {
        Options options;
        try {
            options = Options.parse(argv);
        } catch (IllegalArgumentException e) {
            System.err.println("newsflow-engine: " + e.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
            return;
        }
        PrintStream out = System.out;
        long started = System.nanoTime();
        boolean temporary = options.data == null;
        Path root = temporary ? Files.createTempDirectory("newsflow-engine-") : options.data.toAbsolutePath();
        Files.createDirectories(root);

        // OpenSearch's log pattern converter reads the node name: it must be set before the
        // first logger is made.
        LogConfigurator.setNodeName(NODE_NAME);
        Settings settings = Settings.builder()
            .put("cluster.name", options.clusterName)
            .put("node.name", NODE_NAME)
            .put("path.home", root.resolve("home").toString())
            .put("path.data", root.resolve("data").toString())
            .put("path.logs", root.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.toString(options.port))
            .put("transport.port", "0")
            // One node: no replica can ever be assigned. Without this a restart over kept data
            // leaves replicas of indices not created from newsflow's template unassigned (yellow).
            .put("cluster.default_number_of_replicas", 0)
            // A developer's or CI disk is often past the 85/90% watermarks while having room:
            // the engine must not turn indices read-only there.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), null, () -> NODE_NAME);
        Node node = new EngineNode(environment, EngineNode.PLUGINS);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
                if (temporary) {
                    deleteTree(root);
                }
                System.out.println("newsflow-engine: stopped");
            } catch (IOException | InterruptedException e) {
                System.err.println("newsflow-engine: error while stopping: " + e);
            } finally {
                stopped.countDown();
            }
        }, "newsflow-engine-shutdown"));

        node.start();
        ClusterHealthResponse health = node.client().admin().cluster().prepareHealth()
            .setWaitForGreenStatus().setTimeout(TimeValue.timeValueSeconds(120)).get();
        if (health.isTimedOut()) {
            System.err.println("newsflow-engine: cluster not green after 120 s: " + health.getStatus());
            System.exit(1);
        }
        InetSocketAddress address = node.injector().getInstance(HttpServerTransport.class)
            .boundAddress().publishAddress().address();
        String url = "http://" + address.getHostString() + ":" + address.getPort();
        if (options.urlFile != null) {
            Path tmp = options.urlFile.resolveSibling(options.urlFile.getFileName() + ".tmp");
            Files.writeString(tmp, url + "\n", StandardCharsets.UTF_8);
            Files.move(tmp, options.urlFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
        out.printf("newsflow-engine: ready at %s (OpenSearch %s, cluster %s, Java %s, started in %.1f s, data %s)%n",
            url, Version.CURRENT, options.clusterName, Runtime.version().feature(), (System.nanoTime() - started) / 1e9,
            temporary ? root + " (temporary)" : root);
        out.flush();

        if (options.exitWith > 0) {
            Thread watcher = new Thread(() -> {
                while (ProcessHandle.of(options.exitWith).map(ProcessHandle::isAlive).orElse(false)) {
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                System.out.println("newsflow-engine: process " + options.exitWith + " ended, stopping");
                System.exit(0);
            }, "newsflow-engine-parent-watch");
            watcher.setDaemon(true);
            watcher.start();
        }
        stopped.await();
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** The command line, checked: every error names the option. */
    static final class Options {
        static final String USAGE =
            "usage: Engine [--data DIR] [--port N] [--url-file FILE] [--exit-with PID] [--cluster-name NAME]";
        Path data;
        int port = 9200;
        Path urlFile;
        long exitWith;
        String clusterName = "newsflow-local";

        static Options parse(String[] argv) {
            Options o = new Options();
            for (int i = 0; i < argv.length; i++) {
                String name = argv[i];
                if (i + 1 >= argv.length) {
                    throw new IllegalArgumentException(name + " needs a value");
                }
                String value = argv[++i];
                switch (name) {
                    case "--data" -> o.data = Path.of(value);
                    case "--cluster-name" -> o.clusterName = value;
                    case "--url-file" -> o.urlFile = Path.of(value).toAbsolutePath();
                    case "--port" -> o.port = number(name, value, 0, 65535);
                    case "--exit-with" -> o.exitWith = number(name, value, 1, Integer.MAX_VALUE);
                    default -> throw new IllegalArgumentException("unknown option " + name);
                }
            }
            return o;
        }

        private static int number(String name, String value, int min, int max) {
            try {
                int n = Integer.parseInt(value);
                if (n >= min && n <= max) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // named below
            }
            throw new IllegalArgumentException(name + " must be a whole number from " + min + " to " + max + ", not '" + value + "'");
        }
    }
}
