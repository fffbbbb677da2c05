package dev.singlepull.cri.cli;

import dev.singlepull.api.cri.v1.VersionRequest;
import dev.singlepull.api.cri.v1.VersionResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** Prints the client's version and, when the service answers, the service's. */
@Command(name = "version", description = "Print the client version and the service's runtime version.")
final class VersionCommand implements Runnable {
    @Mixin
    ClientOptions client;

    @Override
    public void run() {
        System.out.println("Client version:  " + Main.VERSION);
        try (CriClient cri = client.connect()) {
            VersionResponse v = cri.runtime().version(VersionRequest.newBuilder().setVersion("v1").build());
            System.out.println("Version:  " + v.getVersion());
            System.out.println("RuntimeName:  " + v.getRuntimeName());
            System.out.println("RuntimeVersion:  " + v.getRuntimeVersion());
            System.out.println("RuntimeApiVersion:  " + v.getRuntimeApiVersion());
        }
    }
}
