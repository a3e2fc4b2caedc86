package dev.mergeline.events;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The examples in this module's README.md are the fixtures, so the reference cannot drift from the wire format. */
class ReadmeTest {
    private static final Pattern EXAMPLE = Pattern.compile("<!-- fixture: (\\S+) -->\\s*```json\\n(.*?)```", Pattern.DOTALL);

    @Test
    void readmeExamplesEqualTheFixtures() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        ObjectMapper json = new ObjectMapper();
        Set<String> shown = new HashSet<>();
        Matcher m = EXAMPLE.matcher(readme);
        while (m.find()) {
            String fixture = m.group(1);
            assertEquals(json.readTree(EventFixtures.load(fixture)), json.readTree(m.group(2)), fixture);
            shown.add(fixture);
        }
        for (String fixture : EventFixtures.EVENTS.keySet()) {
            assertTrue(shown.contains(fixture), "README.md has no example for " + fixture);
        }
        assertTrue(shown.contains(EventFixtures.ADAPTER_ANNOUNCEMENT));
        assertTrue(shown.contains(EventFixtures.S3_PUT));
    }
}
