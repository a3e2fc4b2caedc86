package dev.mergeline.quarkus;

import dev.mergeline.core.run.InputLimits;
import dev.mergeline.s3.S3Settings;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.net.URI;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The settings the functions and the worker share ({@code mergeline.*}; env vars {@code MERGELINE_*}):
 * the bucket, how to reach S3, and the input limits. One declaration, so the two apps read the same
 * property names with the same defaults.
 */
@ConfigMapping(prefix = "mergeline")
public interface MergelineSettings {

    /** The bucket holding {@code adapters/}, {@code base-models/} and {@code merged/}. */
    @WithDefault("mergeline")
    String bucket();

    S3 s3();

    Limits limits();

    /** How to reach S3: AWS by default; LocalStack and the embedded S3 server set an endpoint. */
    interface S3 {
        /** Endpoint override, e.g. {@code http://127.0.0.1:4566}; empty for AWS. */
        Optional<URI> endpoint();

        @WithDefault("us-east-1")
        String region();

        /** Path-style addressing (LocalStack, S3Mock). */
        @WithDefault("false")
        boolean pathStyle();

        /** Static credentials; empty for the default chain (Lambda or task role). */
        Optional<String> accessKey();

        Optional<String> secretKey();

        /** Attempts per S3 request, including the first; the SDK backs off exponentially between them. */
        @WithDefault("4")
        int maxAttempts();

        /** These settings for {@code S3Clients}. */
        default S3Settings settings() {
            return new S3Settings(endpoint(), region(), pathStyle(), accessKey(), secretKey(), maxAttempts());
        }
    }

    /**
     * Limits on an adapter's inputs, each enforced before the input it bounds is read; unset ones
     * take the defaults of {@link InputLimits}. An adapter over a limit is rejected with
     * {@code INPUT_TOO_LARGE} (a header over {@code max-header-bytes}: {@code SAFETENSORS_HEADER_INVALID},
     * {@code HEADER_TOO_LARGE}). The functions check them against S3 listings and headers, the worker
     * again before it reads its downloaded files.
     */
    interface Limits {
        /**
         * Largest {@code adapter_model.safetensors} accepted, in bytes
         * ({@code MERGELINE_LIMITS_MAX_ADAPTER_BYTES}; default {@value InputLimits#DEFAULT_MAX_ADAPTER_BYTES}, 16 GiB).
         */
        OptionalLong maxAdapterBytes();

        /**
         * Largest safetensors header accepted (adapter and base), in bytes
         * ({@code MERGELINE_LIMITS_MAX_HEADER_BYTES}; default 100000000, the format's own limit).
         */
        OptionalLong maxHeaderBytes();

        /**
         * Most tensors the adapter's safetensors header may list
         * ({@code MERGELINE_LIMITS_MAX_TENSOR_COUNT}; default {@value InputLimits#DEFAULT_MAX_TENSOR_COUNT}).
         */
        OptionalInt maxTensorCount();

        /** The configured limits; unset ones are core's defaults. */
        default InputLimits inputLimits() {
            return InputLimits.orDefaults(maxAdapterBytes(), maxHeaderBytes(), maxTensorCount());
        }
    }
}
