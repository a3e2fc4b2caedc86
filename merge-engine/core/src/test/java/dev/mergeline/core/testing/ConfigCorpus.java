package dev.mergeline.core.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The adapter-config corpus of {@code merge-engine/fixtures/configs} (made by
 * {@code generate_config_corpus.py}, each case checked against PEFT 0.21): config shapes from the
 * wild, with what PEFT did and what Mergeline must do.
 *
 * @param name case directory name
 * @param dir the case directory
 * @param record its {@code case.json}
 */
public record ConfigCorpus(String name, Path dir, JsonNode record) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** {@code merge-engine/fixtures/configs}, found from any module directory. */
    public static Path root() {
        return PeftFixtures.casesDir().resolveSibling("configs");
    }

    public static List<ConfigCorpus> all() {
        try {
            List<ConfigCorpus> cases = new ArrayList<>();
            for (JsonNode c : JSON.readTree(root().resolve("index.json").toFile()).path("cases")) {
                cases.add(of(c.path("name").asText()));
            }
            return cases;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static ConfigCorpus of(String name) {
        Path dir = root().resolve(name);
        try {
            return new ConfigCorpus(name, dir, JSON.readTree(dir.resolve("case.json").toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Path base() {
        return dir.resolve(record.path("base").asText()).normalize();
    }

    public Path adapter() {
        return dir.resolve("adapter");
    }

    public Path expected() {
        return dir.resolve("expected");
    }

    /** Whether Mergeline must merge this case (else refuse it). */
    public boolean merges() {
        return record.at("/mergeline/outcome").asText().equals("merged");
    }

    /** The reason code a refusal must carry. */
    public String refusalCode() {
        return record.at("/mergeline/code").asText();
    }

    /** Text the refusal's message must contain. */
    public String messageContains() {
        return record.at("/mergeline/message_contains").asText();
    }

    /** Modules whose LoRA weights PEFT loaded but ignored (empty unless PEFT silently dropped weights). */
    public TreeSet<String> modulesPeftIgnored() {
        TreeSet<String> modules = new TreeSet<>();
        record.at("/peft/ignored_keys").forEach(k -> {
            if (k.asText().contains(".lora_")) {
                modules.add(k.asText().replaceFirst("^base_model\\.model\\.", "")
                        .replaceFirst("\\.lora_(embedding_)?[AB](\\.weight)?$", ""));
            }
        });
        return modules;
    }

    /** The merge fields the config leaves absent or null, which Mergeline must record as defaulted. */
    public TreeSet<String> absentOrNullFields() {
        TreeSet<String> fields = new TreeSet<>();
        record.path("absent_or_null_fields").forEach(f -> fields.add(f.asText()));
        return fields;
    }

    @Override
    public String toString() {
        return name;
    }
}
