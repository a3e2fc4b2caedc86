package dev.mergeline.core.merge;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

class BufferSizesTest {

    @Test
    void aBufferOfOtherThanTheExpectedBytesIsRefusedWithItsRoleAndBothSizes() {
        ByteBuffer buffer = ByteBuffer.allocate(16).position(4);
        var e = assertThrows(IllegalArgumentException.class, () -> BufferSizes.requireBytes("left", buffer, 16));
        assertEquals("left holds 12 bytes, expected 16", e.getMessage());
    }

    @Test
    void theRemainingBytesAreWhatCounts() {
        ByteBuffer buffer = ByteBuffer.allocate(16).position(4);
        assertDoesNotThrow(() -> BufferSizes.requireBytes("left", buffer, 12));
    }
}
