package dev.mergeline.s3;

import java.net.URI;
import java.util.Optional;

/**
 * How to reach S3: AWS, LocalStack and the embedded S3 server differ only in these values.
 *
 * @param endpoint endpoint override (LocalStack, S3Mock), or empty for AWS
 * @param region AWS region
 * @param pathStyle path-style addressing (needed by LocalStack and S3Mock)
 * @param accessKey static access key, or empty for the default credentials chain (IAM role, env, profile)
 * @param secretKey static secret key, with {@code accessKey}
 * @param maxAttempts attempts per request, including the first (the SDK retries with backoff)
 */
public record S3Settings(
        Optional<URI> endpoint, String region, boolean pathStyle, Optional<String> accessKey,
        Optional<String> secretKey, int maxAttempts) {

    public S3Settings {
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("maxAttempts must be at least 1, got " + maxAttempts);
        }
    }
}
