package dev.singlepull.cri.cluster;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A {@link LeaseStore} on Redis: a lease is a string key set with {@code SET NX PX} whose value names the holder;
 * renewal, release and takeover compare the value in a script, so a node only ever extends, frees or replaces what it
 * was shown. The holders of a committed blob are a set with an expiry.
 *
 * <p>Every command runs under one short timeout. The connection is made in the background from the start; once made,
 * Lettuce reconnects it in the background and commands fail at once while it is down. A first connection that
 * failed is tried again at most every few seconds, so a node without Redis pays no timeout per blob. The first failure is logged, and so is the recovery; every
 * failure is counted.
 */
public final class RedisLeaseStore implements LeaseStore {
    private static final System.Logger LOG = System.getLogger(RedisLeaseStore.class.getName());
    private static final Duration RECONNECT_PAUSE = Duration.ofSeconds(3);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(10);
    private static final String LEASE = "singlepull:lease:";
    private static final String HOLDERS = "singlepull:holders:";
    private static final String FETCHERS = "singlepull:fetchers:";
    private static final String RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then "
            + "return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";
    private static final String RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then "
            + "return redis.call('del', KEYS[1]) else return 0 end";
    private static final String TAKE_OVER = "local v = redis.call('get', KEYS[1]) "
            + "if v == false or v == ARGV[1] then redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3]) return ARGV[2] "
            + "else return v end";

    private final RedisURI uri;
    private final RedisClient client;
    private final ClusterListener listener;
    private final AtomicBoolean down = new AtomicBoolean();
    /** The connection once made; failed (so a new attempt starts) before the first attempt. Guarded by this. */
    private CompletableFuture<StatefulRedisConnection<String, String>> connecting =
            CompletableFuture.failedFuture(new IllegalStateException("not connected yet"));
    private long nextConnectNanos; // guarded by this
    private boolean closed; // guarded by this

    /**
     * @param uri     {@code redis://host:port} (Lettuce's URI syntax: a password or database may be given)
     * @param timeout the longest any one command or connection attempt may take
     */
    public RedisLeaseStore(String uri, Duration timeout, ClusterListener listener) {
        this.nextConnectNanos = System.nanoTime();
        this.uri = RedisURI.create(uri);
        this.uri.setTimeout(timeout);
        this.listener = listener;
        this.client = RedisClient.create(this.uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT.compareTo(timeout) > 0
                        ? CONNECT_TIMEOUT : timeout).build())
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
        connection(); // connect now, before the first blob needs it
    }

    /**
     * Waits up to {@code wait} for the connection being made; true once connected. A node calls it at start-up, so
     * that its first pulls find the store ready.
     */
    public boolean awaitConnected(Duration wait) {
        try {
            connection().get(wait.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    @Override
    public Peer acquire(String blob, Peer self, Duration ttl) {
        String before = call(r -> r.setGet(LEASE + blob, self.encoded(), SetArgs.Builder.nx().px(ttl.toMillis())));
        return before == null ? self : Peer.decode(before);
    }

    @Override
    public boolean renew(String blob, Peer self, Duration ttl) {
        Long renewed = call(r -> r.eval(RENEW, ScriptOutputType.INTEGER, new String[] {LEASE + blob},
                self.encoded(), Long.toString(ttl.toMillis())));
        return renewed != null && renewed == 1L;
    }

    @Override
    public Peer takeOver(String blob, Peer failed, Peer self, Duration ttl) {
        String holder = call(r -> r.eval(TAKE_OVER, ScriptOutputType.VALUE, new String[] {LEASE + blob},
                failed.encoded(), self.encoded(), Long.toString(ttl.toMillis())));
        return Peer.decode(holder);
    }

    @Override
    public void release(String blob, Peer self) {
        call(r -> r.eval(RELEASE, ScriptOutputType.INTEGER, new String[] {LEASE + blob}, self.encoded()));
    }

    @Override
    public void addHolder(String blob, Peer self, Duration ttl) {
        add(HOLDERS + blob, self, ttl);
    }

    @Override
    public Set<Peer> holders(String blob) {
        return members(HOLDERS + blob);
    }

    @Override
    public void removeHolder(String blob, Peer peer) {
        call(r -> r.srem(HOLDERS + blob, peer.encoded()));
    }

    @Override
    public void addFetcher(String blob, Peer self, Duration ttl) {
        add(FETCHERS + blob, self, ttl);
    }

    @Override
    public Set<Peer> fetchers(String blob) {
        return members(FETCHERS + blob);
    }

    @Override
    public void removeFetcher(String blob, Peer peer) {
        call(r -> r.srem(FETCHERS + blob, peer.encoded()));
    }

    private void add(String set, Peer self, Duration ttl) {
        call(r -> {
            r.sadd(set, self.encoded());
            return r.pexpire(set, ttl.toMillis());
        });
    }

    private Set<Peer> members(String set) {
        Set<Peer> out = new LinkedHashSet<>();
        for (String member : call(r -> r.smembers(set))) {
            out.add(Peer.decode(member));
        }
        return out;
    }

    private <T> T call(Function<RedisCommands<String, String>, T> command) {
        listener.storeOperation();
        try {
            T result = command.apply(commands());
            answered();
            return result;
        } catch (RedisException | Unavailable e) {
            throw failed(e);
        }
    }

    private void answered() {
        if (down.compareAndSet(true, false)) {
            LOG.log(System.Logger.Level.INFO, "lease store " + where() + " answers again: the cluster tier is back");
        }
    }

    private Unavailable failed(RuntimeException e) {
        listener.storeUnavailable();
        if (down.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "lease store " + where() + " failed (" + e.getMessage()
                    + "): blobs are fetched from upstream as on a single node until it answers");
        }
        return e instanceof Unavailable u ? u : new Unavailable("lease store " + where() + ": " + e.getMessage(), e);
    }

    /** The connection's commands; waits at most the timeout for a connection being made. */
    private RedisCommands<String, String> commands() {
        CompletableFuture<StatefulRedisConnection<String, String>> attempt = connection();
        try {
            return attempt.get(uri.getTimeout().toMillis(), TimeUnit.MILLISECONDS).sync();
        } catch (TimeoutException e) {
            throw new Unavailable("lease store " + where() + " is not connected yet", e);
        } catch (ExecutionException e) {
            throw new Unavailable("lease store " + where() + " is unreachable: " + e.getCause().getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new Unavailable("interrupted while waiting for the lease store", e);
        }
    }

    /**
     * The connection, or the attempt to make it. Connecting (class loading and the handshake of a first connection
     * can take longer than a command may) runs in the background: callers wait at most the command timeout for it.
     * A failed attempt is repeated no sooner than a pause later; until then, callers fail at once.
     */
    private synchronized CompletableFuture<StatefulRedisConnection<String, String>> connection() {
        if (connecting.isCompletedExceptionally() && System.nanoTime() - nextConnectNanos >= 0 && !closed) {
            connecting = new CompletableFuture<>();
            CompletableFuture<StatefulRedisConnection<String, String>> attempt = connecting;
            Thread.ofVirtual().name("lease-store-connect").start(() -> {
                try {
                    StatefulRedisConnection<String, String> made = client.connect();
                    made.setTimeout(CONNECT_TIMEOUT);
                    made.sync().ping(); // the first command of a process loads classes: not under the short timeout
                    made.setTimeout(uri.getTimeout());
                    LOG.log(System.Logger.Level.INFO, "connected to lease store " + where());
                    attempt.complete(made);
                } catch (RuntimeException e) {
                    synchronized (this) {
                        nextConnectNanos = System.nanoTime() + RECONNECT_PAUSE.toNanos();
                    }
                    attempt.completeExceptionally(e);
                }
            });
        }
        return connecting;
    }

    private String where() {
        return uri.getHost() + ":" + uri.getPort();
    }

    @Override
    public void close() {
        CompletableFuture<StatefulRedisConnection<String, String>> last;
        synchronized (this) {
            closed = true;
            last = connecting;
        }
        try {
            last.get(CONNECT_TIMEOUT.toMillis() * 2, TimeUnit.MILLISECONDS).close();
        } catch (ExecutionException | TimeoutException e) {
            // never connected
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
