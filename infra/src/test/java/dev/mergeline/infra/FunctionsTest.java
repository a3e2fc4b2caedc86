package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import software.amazon.awscdk.assertions.Match;
import software.amazon.awscdk.assertions.Template;

class FunctionsTest {

    @Test
    void twoJavaLambdasFromOneZipPickTheirFunqyExport() {
        Template t = Synth.msk();
        t.resourceCountIs("AWS::Lambda::Function", 2);
        for (String export : List.of("s3Trigger", "kafkaTrigger")) {
            t.hasResourceProperties("AWS::Lambda::Function", Map.of(
                    "Runtime", "java21",
                    "Handler", Contract.FUNQY_HANDLER,
                    "Environment", Map.of("Variables", Match.objectLike(Map.of(
                            "QUARKUS_FUNQY_EXPORT", export,
                            "MERGELINE_BUCKET", "mergeline",
                            "MERGELINE_S3_REGION", Map.of("Ref", "AWS::Region"),
                            "KAFKA_BOOTSTRAP_SERVERS", Synth.BOOTSTRAP))),
                    "VpcConfig", Match.objectLike(Map.of("SubnetIds", Match.anyValue())),
                    "LoggingConfig", Map.of("LogGroup", Match.objectLike(Map.of("Ref", Match.anyValue())))));
        }
        // both Lambdas deploy the same asset
        List<Object> codes = Cfn.resources(t, "AWS::Lambda::Function").values().stream()
                .map(p -> p.get("Code")).distinct().toList();
        assertEquals(1, codes.size(), codes.toString());
    }

    @Test
    void s3NotificationOnAdaptersPrefixInvokesTheValidationLambda() {
        Template t = Synth.msk();
        String validation = Cfn.functionLogicalId(t, "s3Trigger");
        t.hasResourceProperties("AWS::S3::Bucket", Map.of("NotificationConfiguration", Map.of(
                "LambdaConfigurations", List.of(Map.of(
                        "Event", "s3:ObjectCreated:*",
                        "Filter", Map.of("S3Key", Map.of("Rules", List.of(Map.of("Name", "prefix",
                                "Value", "adapters/")))),
                        "Function", Map.of("Fn::GetAtt", List.of(validation, "Arn")))))));
        // S3 may invoke it, from this bucket and account only
        t.hasResourceProperties("AWS::Lambda::Permission", Map.of(
                "Action", "lambda:InvokeFunction",
                "Principal", "s3.amazonaws.com",
                "FunctionName", Map.of("Fn::GetAtt", List.of(validation, "Arn")),
                "SourceAccount", Map.of("Ref", "AWS::AccountId"),
                "SourceArn", Map.of("Fn::Join", List.of("", List.of("arn:", Map.of("Ref", "AWS::Partition"),
                        ":s3:::mergeline")))));
        // the bucket is created after the permission (S3 checks it when the notification is set)
        String bucketId = Cfn.resources(t, "AWS::S3::Bucket").keySet().iterator().next();
        String permissionId = Cfn.resources(t, "AWS::Lambda::Permission").keySet().iterator().next();
        assertEquals(List.of(permissionId), Cfn.resource(t, bucketId).get("DependsOn"));
        // no CDK notification custom resource (its Lambda would need s3:PutBucketNotification on *)
        t.resourceCountIs("Custom::S3BucketNotifications", 0);
    }

    @Test
    void validationFailuresGoToAnEncryptedDeadLetterQueue() {
        Template t = Synth.msk();
        t.resourceCountIs("AWS::SQS::Queue", 1);
        t.hasResourceProperties("AWS::SQS::Queue", Map.of("SqsManagedSseEnabled", true));
        t.hasResourceProperties("AWS::Lambda::Function", Map.of(
                "Environment", Map.of("Variables", Match.objectLike(Map.of("QUARKUS_FUNQY_EXPORT", "s3Trigger"))),
                "DeadLetterConfig", Map.of("TargetArn", Match.anyValue())));
    }

    @Test
    void mskEventSourceMappingReadsAdapterUploadsWithIam() {
        Template t = Synth.msk();
        t.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
        t.hasResourceProperties("AWS::Lambda::EventSourceMapping", Map.of(
                "EventSourceArn", Synth.CLUSTER_ARN,
                "Topics", List.of("adapter-uploads"),
                "FunctionName", Map.of("Ref", Cfn.functionLogicalId(t, "kafkaTrigger")),
                "StartingPosition", "TRIM_HORIZON",
                "AmazonManagedKafkaEventSourceConfig", Map.of("ConsumerGroupId", "mergeline-functions"),
                // IAM: no secret, the mapping authenticates as the function's role
                "SourceAccessConfigurations", Match.absent()));
        t.hasResourceProperties("AWS::Lambda::Function", Map.of("Environment", Map.of("Variables",
                Match.objectLike(Map.of(
                        "KAFKA_SECURITY_PROTOCOL", "SASL_SSL",
                        "KAFKA_SASL_MECHANISM", "AWS_MSK_IAM",
                        "KAFKA_SASL_JAAS_CONFIG", "software.amazon.msk.auth.iam.IAMLoginModule required;",
                        "KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS",
                        "software.amazon.msk.auth.iam.IAMClientCallbackHandler")))));
    }

    @Test
    void bothLambdasTalkToMskWithIamAndMayProduceIdempotently() {
        Template t = Synth.msk();
        MskArns arns = MskArns.parse(Synth.CLUSTER_ARN);
        for (String export : List.of(Contract.EXPORT_S3, Contract.EXPORT_KAFKA)) {
            // what functions/…/KafkaSecurityConfigTest proves reaches every Kafka client of the functions
            Map<String, Object> vars = envOf(t, export);
            assertEquals("SASL_SSL", vars.get("KAFKA_SECURITY_PROTOCOL"), export);
            assertEquals("AWS_MSK_IAM", vars.get("KAFKA_SASL_MECHANISM"), export);
            assertEquals("software.amazon.msk.auth.iam.IAMLoginModule required;", vars.get("KAFKA_SASL_JAAS_CONFIG"),
                    export);
            assertEquals("software.amazon.msk.auth.iam.IAMClientCallbackHandler",
                    vars.get("KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS"), export);
            assertEquals(Synth.BOOTSTRAP, vars.get("KAFKA_BOOTSTRAP_SERVERS"), export);
            // Kafka producers are idempotent by default: without this MSK refuses their first send
            List<Cfn.Statement> statements = Cfn.roleStatements(t, Cfn.functionRole(t, export));
            assertTrue(statements.stream().anyMatch(st -> st.allows() && st.hasAction("kafka-cluster:Connect")
                    && st.hasAction("kafka-cluster:WriteDataIdempotently")
                    && st.resources().equals(List.of(arns.cluster()))), export + ": " + statements);
        }
    }

    @Test
    void selfManagedEventSourceMappingUsesScramSecretInTheVpc() {
        Template t = Synth.variant();
        t.hasResourceProperties("AWS::Lambda::EventSourceMapping", Map.of(
                "Topics", List.of("adapter-uploads"),
                "FunctionName", Map.of("Ref", Cfn.functionLogicalId(t, "kafkaTrigger")),
                "SelfManagedEventSource", Map.of("Endpoints", Map.of("KafkaBootstrapServers",
                        List.of("kafka-1.internal.example:9096", "kafka-2.internal.example:9096"))),
                "SelfManagedKafkaEventSourceConfig", Map.of("ConsumerGroupId", "mergeline-functions"),
                "SourceAccessConfigurations", Match.arrayWith(List.of(
                        Map.of("Type", "SASL_SCRAM_512_AUTH", "URI", Synth.SECRET_ARN),
                        Match.objectLike(Map.of("Type", "VPC_SECURITY_GROUP")),
                        Map.of("Type", "VPC_SUBNET", "URI", "subnet-0aaaaaaaaaaaaaaa1"),
                        Map.of("Type", "VPC_SUBNET", "URI", "subnet-0bbbbbbbbbbbbbbb2")))));
        // the clients authenticate with SCRAM too; the password never appears in the template
        Map<String, Object> vars = envOf(t, "s3Trigger");
        assertEquals("SASL_SSL", vars.get("KAFKA_SECURITY_PROTOCOL"));
        assertEquals("SCRAM-SHA-512", vars.get("KAFKA_SASL_MECHANISM"));
        assertTrue(String.valueOf(vars.get("KAFKA_SASL_JAAS_CONFIG")).contains("${MERGELINE_KAFKA_PASSWORD}"));
        assertTrue(Cfn.render(vars.get("MERGELINE_KAFKA_PASSWORD"))
                .startsWith("{{resolve:secretsmanager:" + Synth.SECRET_ARN + ":SecretString:password"),
                String.valueOf(vars.get("MERGELINE_KAFKA_PASSWORD")));
    }

    @Test
    void importedVpcPlacesFunctionsInTheGivenSubnetsAndOpensTheBrokers() {
        Template t = Synth.variant();
        t.resourceCountIs("AWS::EC2::VPC", 0);
        t.hasResourceProperties("AWS::Lambda::Function", Map.of("VpcConfig", Match.objectLike(Map.of(
                "SubnetIds", List.of("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2")))));
        t.hasResourceProperties("AWS::EC2::SecurityGroupIngress", Map.of(
                "GroupId", "sg-0123456789abcdef0",
                "IpProtocol", "tcp",
                "FromPort", 9092,
                "ToPort", 9098));
        // default: a small VPC of its own, with an S3 gateway endpoint
        Template created = Synth.msk();
        created.resourceCountIs("AWS::EC2::VPC", 1);
        created.resourceCountIs("AWS::EC2::NatGateway", 1);
        created.hasResourceProperties("AWS::EC2::VPCEndpoint", Map.of("VpcEndpointType", "Gateway",
                "ServiceName", Match.objectLike(Map.of())));
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> envOf(Template t, String export) {
        Map<String, Object> fn = Cfn.functionWithExport(t, export).orElseThrow();
        return (Map<String, Object>) ((Map<String, Object>) fn.get("Environment")).get("Variables");
    }
}
