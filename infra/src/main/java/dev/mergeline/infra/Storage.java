package dev.mergeline.infra;

import java.util.ArrayList;
import java.util.List;

import software.amazon.awscdk.Aws;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.RemovalPolicy;
import software.amazon.awscdk.services.kms.Key;
import software.amazon.awscdk.services.s3.BlockPublicAccess;
import software.amazon.awscdk.services.s3.Bucket;
import software.amazon.awscdk.services.s3.BucketEncryption;
import software.amazon.awscdk.services.s3.LifecycleRule;
import software.amazon.awscdk.services.s3.ObjectOwnership;
import software.constructs.Construct;

/**
 * The one bucket of the contract: {@code adapters/}, {@code base-models/}, {@code merged/}.
 * SSE-S3 by default or SSE-KMS with a key of its own; public access blocked; TLS-only (a bucket
 * policy denies every request with {@code aws:SecureTransport=false}); versioned; merged outputs
 * expire after N days; incomplete multipart uploads are aborted after a day.
 *
 * <p>The bucket name is a literal input, and every ARN the rest of the stack needs is built from
 * that name rather than from a reference to the bucket: the bucket's native S3 notification
 * depends on the validation Lambda, so the Lambda (and its role) must not depend on the bucket.
 */
public final class Storage extends Construct {

    private final Bucket bucket;
    private final Key key;
    private final String bucketName;

    public Storage(Construct scope, String id, MergelineConfig config) {
        super(scope, id);
        this.bucketName = config.bucketName;
        this.key = config.encryption == MergelineConfig.Encryption.KMS
                ? Key.Builder.create(this, "Key")
                        .description("Mergeline bucket " + config.bucketName + " (SSE-KMS)")
                        .enableKeyRotation(true)
                        .removalPolicy(RemovalPolicy.RETAIN)
                        .build()
                : null;

        List<LifecycleRule> rules = new ArrayList<>();
        rules.add(LifecycleRule.builder()
                .id("abort-incomplete-multipart-uploads")
                .abortIncompleteMultipartUploadAfter(Duration.days(1))
                .build());
        if (config.mergedExpirationDays > 0) {
            rules.add(LifecycleRule.builder()
                    .id("expire-merged-outputs")
                    .prefix(Contract.MERGED)
                    .expiration(Duration.days(config.mergedExpirationDays))
                    .build());
        }
        if (config.noncurrentVersionExpirationDays > 0) {
            rules.add(LifecycleRule.builder()
                    .id("expire-noncurrent-versions")
                    .noncurrentVersionExpiration(Duration.days(config.noncurrentVersionExpirationDays))
                    .expiredObjectDeleteMarker(true)
                    .build());
        }

        Bucket.Builder b = Bucket.Builder.create(this, "Bucket")
                .bucketName(config.bucketName)
                .blockPublicAccess(BlockPublicAccess.BLOCK_ALL)
                .enforceSsl(true)
                .versioned(true)
                .objectOwnership(ObjectOwnership.BUCKET_OWNER_ENFORCED)
                .lifecycleRules(rules)
                .removalPolicy(RemovalPolicy.RETAIN);
        if (key != null) {
            b.encryption(BucketEncryption.KMS).encryptionKey(key).bucketKeyEnabled(true);
        } else {
            b.encryption(BucketEncryption.S3_MANAGED);
        }
        this.bucket = b.build();
    }

    public Bucket bucket() {
        return bucket;
    }

    /** The SSE-KMS key, or null with SSE-S3. */
    public Key key() {
        return key;
    }

    public String bucketName() {
        return bucketName;
    }

    /** {@code arn:${AWS::Partition}:s3:::bucket}, built from the literal name (no reference to the bucket). */
    public String bucketArn() {
        return "arn:" + Aws.PARTITION + ":s3:::" + bucketName;
    }

    /** ARN of the objects under a prefix such as {@code adapters/}: {@code …:::bucket/adapters/*}. */
    public String objectsArn(String prefix) {
        return bucketArn() + "/" + prefix + "*";
    }
}
