package dev.singlepull.cri.cli;

import dev.singlepull.errdefs.SinglepullException;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The singlepull command: the service and its clients in one binary. */
@Command(name = "singlepull", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "A CRI image service that pulls every image, blob and layer once.",
        subcommands = {ServeCommand.class, PullCommand.class, ImagesCommand.class, InspectCommand.class,
                RmiCommand.class, ExportCommand.class, FsInfoCommand.class, FlightsCommand.class, GcCommand.class,
                FsckCommand.class, ContainerdConfigCommand.class,
                LoadTestCommand.class, VersionCommand.class})
public final class Main implements Runnable {
    static final String VERSION = "0.1.0";

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests: no System.exit). */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            commandLine.getErr().println("singlepull: " + message(e));
            if (commandLine.getCommand() instanceof FsckCommand) {
                return 2; // 1 means "problems found"
            }
            return e instanceof StatusRuntimeException || e instanceof SinglepullException ? 1 : 2;
        });
        return cli.execute(args);
    }

    static String message(Throwable e) {
        if (e instanceof StatusRuntimeException sre) {
            String text = sre.getStatus().getCode() + ": " + sre.getStatus().getDescription();
            Throwable root = sre;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            if (sre.getStatus().getCode() == io.grpc.Status.Code.UNAVAILABLE && root != sre) {
                String why = root instanceof java.io.FileNotFoundException ? "no socket at that path"
                        : root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
                text += " (" + why + "; is `singlepull serve` running on that socket?)";
            }
            return text;
        }
        if (e instanceof SinglepullException se) {
            return se.kind() + ": " + se.getMessage();
        }
        return e.toString();
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"singlepull " + VERSION};
        }
    }
}
