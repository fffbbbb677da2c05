package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.FilesystemUsage;
import dev.singlepull.api.cri.v1.ImageFsInfoRequest;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Prints the image filesystem's usage, as {@code crictl imagefsinfo} reports it. */
@Command(name = "fsinfo", description = "Show the image filesystem's usage.")
final class FsInfoCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Override
    public void run() {
        List<FilesystemUsage> filesystems;
        try (CriClient cri = client.connect()) {
            filesystems = cri.images().imageFsInfo(ImageFsInfoRequest.getDefaultInstance()).getImageFilesystemsList();
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"MOUNTPOINT", "USED", "BYTES", "INODES", "TIMESTAMP"});
        for (FilesystemUsage fs : filesystems) {
            rows.add(new String[] {fs.getFsId().getMountpoint(), Sizes.human(fs.getUsedBytes().getValue()),
                    Long.toString(fs.getUsedBytes().getValue()), Long.toString(fs.getInodesUsed().getValue()),
                    java.time.Instant.ofEpochSecond(0, fs.getTimestamp()).toString()});
        }
        Table.print(rows);
    }
}
