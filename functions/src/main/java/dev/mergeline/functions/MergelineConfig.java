package dev.mergeline.functions;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.util.Map;
import java.util.Optional;

/** Configuration of the validation functions ({@code mergeline.*}; env vars {@code MERGELINE_*}). */
@ConfigMapping(prefix = "mergeline")
public interface MergelineConfig {

    /** The bucket holding {@code adapters/}, {@code base-models/} and {@code merged/}. */
    @WithDefault("mergeline")
    String bucket();

    S3 s3();

    Limits limits();

    /**
     * Base-model aliases: {@code base_model_name_or_path} (e.g. a local training path) → the name
     * under {@code base-models/}. {@code merge.json}'s {@code base} wins over both.
     */
    Map<String, String> baseAliases();

    /** How to reach S3: AWS by default; LocalStack and the embedded S3 server set an endpoint. */
    interface S3 {
        /** Endpoint override, e.g. {@code http://127.0.0.1:4566}; empty for AWS. */
        Optional<URI> endpoint();

        @WithDefault("us-east-1")
        String region();

        /** Path-style addressing (LocalStack, S3Mock). */
        @WithDefault("false")
        boolean pathStyle();

        /** Static credentials; empty for the default chain (Lambda role). */
        Optional<String> accessKey();

        Optional<String> secretKey();

        /** Attempts per S3 request, including the first; retries back off exponentially. */
        @WithDefault("4")
        int maxAttempts();
    }

    /** Limits enforced before anything large is read. */
    interface Limits {
        /** Largest safetensors header accepted (the format's own limit is 100 MB). */
        @WithDefault("100000000")
        long maxHeaderBytes();
    }
}
