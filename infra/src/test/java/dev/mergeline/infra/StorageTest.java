package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

class StorageTest {

    @Test
    void bucketIsPrivateVersionedAndEncryptedWithS3ManagedKeysByDefault() {
        Template t = Synth.msk();
        t.resourceCountIs("AWS::S3::Bucket", 1);
        t.hasResourceProperties("AWS::S3::Bucket", Map.of(
                "BucketName", "mergeline",
                "BucketEncryption", Map.of("ServerSideEncryptionConfiguration", List.of(Map.of(
                        "ServerSideEncryptionByDefault", Map.of("SSEAlgorithm", "AES256")))),
                "PublicAccessBlockConfiguration", Map.of(
                        "BlockPublicAcls", true, "BlockPublicPolicy", true,
                        "IgnorePublicAcls", true, "RestrictPublicBuckets", true),
                "VersioningConfiguration", Map.of("Status", "Enabled"),
                "OwnershipControls", Map.of("Rules", List.of(Map.of("ObjectOwnership", "BucketOwnerEnforced")))));
        t.resourceCountIs("AWS::KMS::Key", 0);
    }

    @Test
    void bucketPolicyDeniesEveryRequestWithoutTls() {
        Template t = Synth.msk();
        t.hasResourceProperties("AWS::S3::BucketPolicy", Map.of("PolicyDocument", Map.of("Statement",
                Match.arrayWith(List.of(Match.objectLike(Map.of(
                        "Effect", "Deny",
                        "Action", "s3:*",
                        "Principal", Map.of("AWS", "*"),
                        "Condition", Map.of("Bool", Map.of("aws:SecureTransport", "false")))))))));
        // the Deny covers the bucket and every object in it
        List<Cfn.Statement> deny = Cfn.resources(t, "AWS::S3::BucketPolicy").values().stream()
                .flatMap(p -> Cfn.statements(p.get("PolicyDocument"), "bucket policy").stream())
                .filter(s -> !s.allows()).toList();
        assertEquals(1, deny.size());
        assertTrue(deny.get(0).resources().stream().anyMatch(r -> r.endsWith(".Arn}/*")), deny.toString());
        assertTrue(deny.get(0).resources().stream().anyMatch(r -> r.endsWith(".Arn}")), deny.toString());
    }

    @Test
    void lifecycleExpiresMergedOutputsAndAbortsIncompleteUploads() {
        Synth.msk().hasResourceProperties("AWS::S3::Bucket", Map.of("LifecycleConfiguration", Map.of("Rules",
                Match.arrayWith(List.of(
                        Match.objectLike(Map.of(
                                "Status", "Enabled",
                                "AbortIncompleteMultipartUpload", Map.of("DaysAfterInitiation", 1),
                                "Prefix", Match.absent())),
                        Match.objectLike(Map.of(
                                "Status", "Enabled",
                                "Prefix", "merged/",
                                "ExpirationInDays", 30)))))));
        // configurable
        Synth.variant().hasResourceProperties("AWS::S3::Bucket", Map.of("LifecycleConfiguration", Map.of("Rules",
                Match.arrayWith(List.of(Match.objectLike(Map.of("Prefix", "merged/", "ExpirationInDays", 7)))))));
    }

    @Test
    void kmsVariantEncryptsWithItsOwnRotatedKey() {
        Template t = Synth.variant();
        t.resourceCountIs("AWS::KMS::Key", 1);
        t.hasResourceProperties("AWS::KMS::Key", Map.of("EnableKeyRotation", true));
        String keyId = Cfn.resources(t, "AWS::KMS::Key").keySet().iterator().next();
        t.hasResourceProperties("AWS::S3::Bucket", Map.of(
                "BucketName", "acme-mergeline-prod",
                "BucketEncryption", Map.of("ServerSideEncryptionConfiguration", List.of(Map.of(
                        "BucketKeyEnabled", true,
                        "ServerSideEncryptionByDefault", Map.of(
                                "SSEAlgorithm", "aws:kms",
                                "KMSMasterKeyID", Map.of("Fn::GetAtt", List.of(keyId, "Arn"))))))));
    }

    @Test
    void kmsVariantLetsFunctionsDecryptAndTheWorkerEncryptOnlyThroughS3() {
        Template t = Synth.variant();
        String keyId = Cfn.resources(t, "AWS::KMS::Key").keySet().iterator().next();
        for (String export : List.of(Contract.EXPORT_S3, Contract.EXPORT_KAFKA)) {
            List<Cfn.Statement> kms = Cfn.roleStatements(t, Cfn.functionRole(t, export)).stream()
                    .filter(s -> s.actions().stream().anyMatch(a -> a.startsWith("kms:"))).toList();
            assertEquals(1, kms.size(), export + ": " + kms);
            assertEquals(List.of("kms:Decrypt"), kms.get(0).actions());
            assertEquals(List.of("${" + keyId + ".Arn}"), kms.get(0).resources());
            assertTrue(String.valueOf(kms.get(0).condition()).contains("kms:ViaService"), kms.toString());
        }
        List<Cfn.Statement> kms = Cfn.roleStatements(t, Cfn.workerTaskRole(t)).stream()
                .filter(s -> s.actions().stream().anyMatch(a -> a.startsWith("kms:"))).toList();
        assertEquals(1, kms.size(), kms.toString());
        assertEquals(List.of("kms:Decrypt", "kms:GenerateDataKey"), kms.get(0).actions());
        assertEquals(List.of("${" + keyId + ".Arn}"), kms.get(0).resources());
        // SSE-S3 default: no KMS permissions at all
        Template plain = Synth.msk();
        assertTrue(Cfn.allStatements(plain).stream().flatMap(s -> s.actions().stream())
                .noneMatch(a -> a.startsWith("kms:")));
    }
}
