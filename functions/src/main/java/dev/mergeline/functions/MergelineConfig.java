package dev.mergeline.functions;

import dev.mergeline.core.run.InputLimits;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

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

    /**
     * Limits on an adapter's inputs, each enforced before the input it bounds is read; unset ones
     * take the defaults of {@link InputLimits}. An adapter over a limit is rejected with
     * {@code INPUT_TOO_LARGE} (a header over {@code max-header-bytes}: {@code SAFETENSORS_HEADER_INVALID},
     * {@code HEADER_TOO_LARGE}).
     */
    interface Limits {
        /**
         * Largest {@code adapter_model.safetensors} accepted, in bytes, checked against the S3
         * listing before any of it is read ({@code MERGELINE_LIMITS_MAX_ADAPTER_BYTES}; default
         * {@value InputLimits#DEFAULT_MAX_ADAPTER_BYTES}, 16 GiB).
         */
        OptionalLong maxAdapterBytes();

        /**
         * Largest safetensors header accepted (adapter and base), in bytes, checked against the
         * file's 8-byte length prefix before the header is read ({@code MERGELINE_LIMITS_MAX_HEADER_BYTES};
         * default 100000000, the format's own limit).
         */
        OptionalLong maxHeaderBytes();

        /**
         * Most tensors the adapter's safetensors header may list; parsing stops at the first one past
         * it ({@code MERGELINE_LIMITS_MAX_TENSOR_COUNT}; default {@value InputLimits#DEFAULT_MAX_TENSOR_COUNT}).
         */
        OptionalInt maxTensorCount();
    }
}
