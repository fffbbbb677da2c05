package dev.singlepull.cri.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.singlepull.api.cri.v1.AuthConfig;
import dev.singlepull.api.cri.v1.FilesystemIdentifier;
import dev.singlepull.api.cri.v1.FilesystemUsage;
import dev.singlepull.api.cri.v1.Image;
import dev.singlepull.api.cri.v1.ImageFsInfoRequest;
import dev.singlepull.api.cri.v1.ImageFsInfoResponse;
import dev.singlepull.api.cri.v1.ImageServiceGrpc;
import dev.singlepull.api.cri.v1.ImageSpec;
import dev.singlepull.api.cri.v1.ImageStatusRequest;
import dev.singlepull.api.cri.v1.ImageStatusResponse;
import dev.singlepull.api.cri.v1.Int64Value;
import dev.singlepull.api.cri.v1.ListImagesRequest;
import dev.singlepull.api.cri.v1.ListImagesResponse;
import dev.singlepull.api.cri.v1.PullImageRequest;
import dev.singlepull.api.cri.v1.PullImageResponse;
import dev.singlepull.api.cri.v1.RemoveImageRequest;
import dev.singlepull.api.cri.v1.RemoveImageResponse;
import dev.singlepull.api.cri.v1.StreamImagesRequest;
import dev.singlepull.api.cri.v1.StreamImagesResponse;
import dev.singlepull.api.cri.v1.UInt64Value;
import dev.singlepull.cri.image.ImageService;
import dev.singlepull.cri.image.ImageView;
import dev.singlepull.cri.pull.PulledImage;
import dev.singlepull.cri.registry.Credentials;
import dev.singlepull.dedup.Call;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@code runtime.v1.ImageService} over the domain {@link ImageService}: converts protos to domain calls and back,
 * and errors to statuses. A PullImage caller that goes away (cancel, deadline) detaches from its pull; the pull
 * goes on for the others.
 */
final class CriImageGrpcService extends ImageServiceGrpc.ImageServiceImplBase {
    /** Images per StreamImages message: far below the gRPC message limit even with long tag lists. */
    static final int STREAM_BATCH = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final ImageService images;
    private final Clock clock;

    CriImageGrpcService(ImageService images, Clock clock) {
        this.images = images;
        this.clock = clock;
    }

    @Override
    public void pullImage(PullImageRequest request, StreamObserver<PullImageResponse> observer) {
        CallBridge.answer(observer, () -> {
            AuthConfig auth = request.getAuth();
            Credentials credentials = Credentials.fromCri(auth.getUsername(), auth.getPassword(), auth.getAuth(),
                    auth.getIdentityToken(), auth.getRegistryToken());
            Call<PulledImage> call = images.pull(request.getImage().getImage(), credentials);
            Context.current().addListener(ctx -> call.cancel(), Runnable::run);
            PulledImage pulled = call.await();
            images.register(pulled);
            return PullImageResponse.newBuilder().setImageRef(pulled.imageId().toString()).build();
        });
    }

    @Override
    public void imageStatus(ImageStatusRequest request, StreamObserver<ImageStatusResponse> observer) {
        CallBridge.answer(observer, () -> {
            Optional<ImageView> view = images.status(request.getImage().getImage());
            ImageStatusResponse.Builder response = ImageStatusResponse.newBuilder();
            view.ifPresent(v -> {
                response.setImage(toProto(v));
                if (request.getVerbose()) {
                    response.putInfo("info", verboseInfo(v));
                }
            });
            return response.build();
        });
    }

    @Override
    public void listImages(ListImagesRequest request, StreamObserver<ListImagesResponse> observer) {
        CallBridge.answer(observer, () -> ListImagesResponse.newBuilder()
                .addAllImages(listed(request.hasFilter() ? request.getFilter().getImage().getImage() : "")).build());
    }

    @Override
    public void streamImages(StreamImagesRequest request, StreamObserver<StreamImagesResponse> observer) {
        List<Image> all;
        try {
            all = listed(request.hasFilter() ? request.getFilter().getImage().getImage() : "");
        } catch (RuntimeException e) {
            observer.onError(StatusMapper.toStatus(e));
            return;
        }
        for (int from = 0; from < all.size(); from += STREAM_BATCH) {
            observer.onNext(StreamImagesResponse.newBuilder()
                    .addAllImages(all.subList(from, Math.min(all.size(), from + STREAM_BATCH))).build());
        }
        observer.onCompleted();
    }

    @Override
    public void removeImage(RemoveImageRequest request, StreamObserver<RemoveImageResponse> observer) {
        CallBridge.answer(observer, () -> {
            images.remove(request.getImage().getImage());
            return RemoveImageResponse.getDefaultInstance();
        });
    }

    @Override
    public void imageFsInfo(ImageFsInfoRequest request, StreamObserver<ImageFsInfoResponse> observer) {
        CallBridge.answer(observer, () -> {
            ImageService.FsUsage usage = images.fsUsage();
            var now = clock.instant();
            long nanos = TimeUnit.SECONDS.toNanos(now.getEpochSecond()) + now.getNano();
            FilesystemUsage fs = FilesystemUsage.newBuilder()
                    .setTimestamp(nanos)
                    .setFsId(FilesystemIdentifier.newBuilder().setMountpoint(usage.mountpoint().toString()))
                    .setUsedBytes(UInt64Value.newBuilder().setValue(usage.usedBytes()))
                    .setInodesUsed(UInt64Value.newBuilder().setValue(usage.inodesUsed()))
                    .build();
            return ImageFsInfoResponse.newBuilder().addImageFilesystems(fs).build();
        });
    }

    private List<Image> listed(String filter) {
        return images.list(filter.isBlank() ? Optional.empty() : Optional.of(filter)).stream()
                .map(CriImageGrpcService::toProto).toList();
    }

    static Image toProto(ImageView v) {
        Image.Builder image = Image.newBuilder()
                .setId(v.id().toString())
                .addAllRepoTags(v.repoTags())
                .addAllRepoDigests(v.repoDigests().stream().map(CriImageGrpcService::withoutTag).toList())
                .setSize(v.size())
                .setUsername(v.username())
                .setSpec(ImageSpec.newBuilder().setImage(v.id().toString()));
        v.uid().ifPresent(uid -> image.setUid(Int64Value.newBuilder().setValue(uid)));
        return image.build();
    }

    /** {@code repo:tag@sha256:...} shows as {@code repo@sha256:...}, as repo digests are written. */
    private static String withoutTag(String name) {
        int at = name.indexOf('@');
        String repo = name.substring(0, at);
        int slash = repo.lastIndexOf('/');
        int colon = repo.lastIndexOf(':');
        return (colon > slash ? repo.substring(0, colon) : repo) + name.substring(at);
    }

    private static String verboseInfo(ImageView v) {
        ObjectNode info = JSON.createObjectNode();
        info.put("chainID", v.chainId());
        info.put("imageId", v.id().toString());
        info.put("manifestDigest", v.targetDigest().toString());
        if (v.config() != null) {
            info.set("imageSpec", v.config());
        }
        return info.toString();
    }
}
