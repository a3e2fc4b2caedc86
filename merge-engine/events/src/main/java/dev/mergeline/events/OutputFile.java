package dev.mergeline.events;

import com.fasterxml.jackson.annotation.JsonProperty;

/**
 * One object of a merged checkpoint.
 *
 * @param key full object key ({@code merged/<id>/<jobId>/model.safetensors})
 * @param bytes object size
 * @param sha256 hex SHA-256 of the object's bytes
 */
public record OutputFile(String key, @JsonProperty(required = true) long bytes, String sha256) {
    public OutputFile {
        Check.text(key, "key");
        Check.nonNegative(bytes, "bytes");
        Check.sha256(sha256, "sha256");
    }
}
