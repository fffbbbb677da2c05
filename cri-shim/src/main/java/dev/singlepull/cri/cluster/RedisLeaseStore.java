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
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * A {@link LeaseStore} on Redis: a lease is a string key set with {@code SET NX PX} whose value names the holder;
 * renewal, release and takeover compare the value in a script, so a node only ever extends, frees or replaces what it
 * was shown. The holders of a committed blob are a set with an expiry.
 *
 * <p>Every command runs under one short timeout. The connection is made on first use; while Redis is unreachable,
 * commands fail at once (Lettuce reconnects in the background) and a new connection is tried at most every few
 * seconds, so a node without Redis pays no timeout per blob. The first failure is logged, and so is the recovery; every
 * failure is counted.
 */
public final class RedisLeaseStore implements LeaseStore {
    private static final System.Logger LOG = System.getLogger(RedisLeaseStore.class.getName());
    private static final Duration RECONNECT_PAUSE = Duration.ofSeconds(3);
    private static final String LEASE = "singlepull:lease:";
    private static final String HOLDERS = "singlepull:holders:";
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
    private StatefulRedisConnection<String, String> connection; // guarded by this
    private long nextConnectNanos; // guarded by this

    /**
     * @param uri     {@code redis://host:port} (Lettuce's URI syntax: a password or database may be given)
     * @param timeout the longest any one command or connection attempt may take
     */
    public RedisLeaseStore(String uri, Duration timeout, ClusterListener listener) {
        this.uri = RedisURI.create(uri);
        this.uri.setTimeout(timeout);
        this.listener = listener;
        this.client = RedisClient.create(this.uri);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(timeout).build())
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
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
        call(r -> {
            r.sadd(HOLDERS + blob, self.encoded());
            return r.pexpire(HOLDERS + blob, ttl.toMillis());
        });
    }

    @Override
    public Set<Peer> holders(String blob) {
        Set<Peer> out = new LinkedHashSet<>();
        for (String member : call(r -> r.smembers(HOLDERS + blob))) {
            out.add(Peer.decode(member));
        }
        return out;
    }

    @Override
    public void removeHolder(String blob, Peer peer) {
        call(r -> r.srem(HOLDERS + blob, peer.encoded()));
    }

    private <T> T call(Function<RedisCommands<String, String>, T> command) {
        listener.storeOperation();
        try {
            T result = command.apply(commands());
            if (down.compareAndSet(true, false)) {
                LOG.log(System.Logger.Level.INFO, "lease store " + where() + " answers again: the cluster tier is back");
            }
            return result;
        } catch (RedisException | Unavailable e) {
            listener.storeUnavailable();
            if (down.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.WARNING, "lease store " + where() + " failed (" + e.getMessage()
                        + "): blobs are fetched from upstream as on a single node until it answers");
            }
            throw e instanceof Unavailable u ? u : new Unavailable("lease store " + where() + ": " + e.getMessage(), e);
        }
    }

    private synchronized RedisCommands<String, String> commands() {
        if (connection != null) {
            return connection.sync();
        }
        long now = System.nanoTime();
        if (now - nextConnectNanos < 0) {
            throw new Unavailable("lease store " + where() + " is unreachable; next attempt soon", null);
        }
        try {
            connection = client.connect();
            connection.setTimeout(uri.getTimeout());
            return connection.sync();
        } catch (RedisException e) {
            nextConnectNanos = now + RECONNECT_PAUSE.toNanos();
            throw e;
        }
    }

    private String where() {
        return uri.getHost() + ":" + uri.getPort();
    }

    @Override
    public synchronized void close() {
        if (connection != null) {
            connection.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
