package dev.mergeline.devstack;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Argument handling only; starting the stack is covered by the broker and server tests. */
class DevStackCliTest {

    @TempDir
    Path state;

    @Test
    void usageAndStatusOfAStoppedStack() {
        assertEquals(64, DevStackCli.run(new String[0]));
        assertEquals(64, DevStackCli.run(new String[] {"up", state.toString(), "--bogus", "1"}));
        assertEquals(64, DevStackCli.run(new String[] {"sideways", state.toString()}));
        assertEquals(3, DevStackCli.run(new String[] {"status", state.toString()}));
        assertEquals(0, DevStackCli.run(new String[] {"down", state.toString()}));
    }
}
