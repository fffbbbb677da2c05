package dev.singlepull.content.local;

import dev.singlepull.content.ContentWriter;
import java.io.OutputStream;
import java.nio.ByteBuffer;

/**
 * {@link ContentWriter#asOutputStream()}: forwards writes; close does not close the writer. A failure surfaces as
 * the writer's unchecked {@code SinglepullException}, kind intact. Not thread-safe, as the writer.
 */
final class WriterOutputStream extends OutputStream {
    private final ContentWriter writer;

    WriterOutputStream(ContentWriter writer) {
        this.writer = writer;
    }

    @Override
    public void write(int b) {
        writer.write(ByteBuffer.wrap(new byte[] {(byte) b}));
    }

    @Override
    public void write(byte[] bytes, int offset, int length) {
        writer.write(ByteBuffer.wrap(bytes, offset, length));
    }

    @Override
    public void close() {
        // the writer stays open: commit or close it
    }
}
