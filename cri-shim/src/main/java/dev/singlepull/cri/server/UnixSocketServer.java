package dev.singlepull.cri.server;

import dev.singlepull.errdefs.ErrorKind;
import dev.singlepull.errdefs.SinglepullException;
import io.grpc.BindableService;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallExecutorSupplier;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC server on a unix domain socket (mode 0660). Calls run on their own virtual thread: PullImage blocks for as
 * long as a pull takes, and costs only a virtual thread while it does. The quick read-only calls named at start
 * (ListImages, ImageStatus and the like) run on a few platform threads instead, so that they are scheduled by the
 * kernel beside the pulls' work and never wait for a virtual-thread carrier that a busy pull holds.
 */
public final class UnixSocketServer implements AutoCloseable {
    private final Server server;
    private final Path socket;
    private final EpollEventLoopGroup boss;
    private final EpollEventLoopGroup workers;
    private final ExecutorService calls;
    private final ExecutorService quickCalls;

    /** Platform threads for the quick calls: they queue behind each other, not behind pulls. */
    private static final int QUICK_THREADS = 4;

    private UnixSocketServer(Server server, Path socket, EpollEventLoopGroup boss, EpollEventLoopGroup workers,
                             ExecutorService calls, ExecutorService quickCalls) {
        this.server = server;
        this.socket = socket;
        this.boss = boss;
        this.workers = workers;
        this.calls = calls;
        this.quickCalls = quickCalls;
    }

    /**
     * Binds {@code socket} and starts serving. A socket file left by a process that died is replaced (the caller
     * holds the root's lock, so no live server owns it). UNAVAILABLE when binding fails.
     *
     * @param quickMethods full names of the methods served on platform threads (short, non-blocking calls)
     */
    public static UnixSocketServer start(Path socket, List<BindableService> services, Set<String> quickMethods) {
        QuietNetty.apply();
        try {
            Files.createDirectories(socket.toAbsolutePath().getParent());
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            throw new SinglepullException(ErrorKind.UNAVAILABLE, "cannot prepare socket " + socket + ": " + e, e);
        }
        EpollEventLoopGroup boss = new EpollEventLoopGroup(1);
        EpollEventLoopGroup workers = new EpollEventLoopGroup(Math.max(2, Runtime.getRuntime().availableProcessors()));
        ExecutorService calls = Executors.newVirtualThreadPerTaskExecutor();
        ExecutorService quickCalls = Executors.newFixedThreadPool(QUICK_THREADS,
                Thread.ofPlatform().daemon().name("grpc-quick-", 0).factory());
        NettyServerBuilder builder = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .channelType(EpollServerDomainSocketChannel.class)
                .bossEventLoopGroup(boss)
                .workerEventLoopGroup(workers)
                // gRPC looks a call's method up on the server's executor, then moves the call to the one the
                // supplier names: the lookup is short, so it runs on the platform threads too, and every call but
                // the quick ones moves to a virtual thread
                .executor(quickCalls)
                .callExecutor(new ServerCallExecutorSupplier() {
                    @Override
                    public <ReqT, RespT> Executor getExecutor(ServerCall<ReqT, RespT> call, Metadata headers) {
                        return quickMethods.contains(call.getMethodDescriptor().getFullMethodName()) ? null : calls;
                    }
                })
                .maxInboundMessageSize(16 * 1024 * 1024);
        services.forEach(builder::addService);
        try {
            Server server = builder.build().start();
            Files.setPosixFilePermissions(socket, PosixFilePermissions.fromString("rw-rw----"));
            return new UnixSocketServer(server, socket, boss, workers, calls, quickCalls);
        } catch (IOException e) {
            boss.shutdownGracefully();
            workers.shutdownGracefully();
            calls.shutdownNow();
            quickCalls.shutdownNow();
            throw new SinglepullException(ErrorKind.UNAVAILABLE, "cannot listen on " + socket + ": " + e.getMessage(), e);
        }
    }

    public Path socket() {
        return socket;
    }

    public void awaitTermination() throws InterruptedException {
        server.awaitTermination();
    }

    /** Stops accepting calls, gives running calls a few seconds, then closes the socket. */
    @Override
    public void close() {
        server.shutdown();
        try {
            if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
                server.shutdownNow();
                server.awaitTermination(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            server.shutdownNow();
            Thread.currentThread().interrupt();
        }
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        calls.shutdownNow();
        quickCalls.shutdownNow();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException ignored) {
            // a stale socket is replaced at the next start
        }
    }
}
