package dev.mergeline.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
    @SuppressWarnings("unchecked")
    void s3NotificationOnTheFilesThatCompleteAnAdapterInvokesTheValidationAlias() {
        Template t = Synth.msk();
        String alias = aliasOf(t, Cfn.functionLogicalId(t, "s3Trigger"));
        Map<String, Object> bucketProps = Cfn.resources(t, "AWS::S3::Bucket").values().iterator().next();
        List<Map<String, Object>> configs = (List<Map<String, Object>>) ((Map<String, Object>) bucketProps
                .get("NotificationConfiguration")).get("LambdaConfigurations");
        List<String> suffixes = new java.util.ArrayList<>();
        for (Map<String, Object> c : configs) {
            assertEquals("s3:ObjectCreated:*", c.get("Event"));
            assertEquals(Map.of("Ref", alias), c.get("Function"), "the notification must invoke the alias");
            List<Map<String, Object>> rules = (List<Map<String, Object>>) ((Map<String, Object>) ((Map<String, Object>)
                    c.get("Filter")).get("S3Key")).get("Rules");
            assertEquals(Map.of("Name", "prefix", "Value", "adapters/"), rules.get(0));
            assertEquals("suffix", rules.get(1).get("Name"));
            suffixes.add((String) rules.get(1).get("Value"));
        }
        assertEquals(ValidationFunctions.COMPLETING_FILES.stream().map(f -> "/" + f).toList(), suffixes);
        // S3 refuses two configurations for one event whose filters overlap: no suffix may end another
        for (String a : suffixes) {
            for (String b : suffixes) {
                assertTrue(a.equals(b) || !a.endsWith(b), a + " overlaps " + b);
            }
        }
        // S3 may invoke it, from this bucket and account only
        t.hasResourceProperties("AWS::Lambda::Permission", Map.of(
                "Action", "lambda:InvokeFunction",
                "Principal", "s3.amazonaws.com",
                "FunctionName", Map.of("Ref", alias),
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
        t.resourceCountIs("AWS::SQS::Queue", 2);
        t.allResourcesProperties("AWS::SQS::Queue", Map.of("SqsManagedSseEnabled", true));
        t.hasResourceProperties("AWS::Lambda::Function", Map.of(
                "Environment", Map.of("Variables", Match.objectLike(Map.of("QUARKUS_FUNQY_EXPORT", "s3Trigger"))),
                "DeadLetterConfig", Map.of("TargetArn", Match.anyValue())));
        // S3 invokes the alias: its retry setting must be on the alias, not on $LATEST
        String alias = aliasOf(t, Cfn.functionLogicalId(t, "s3Trigger"));
        Map<String, Object> invokeConfig = Cfn.resources(t, "AWS::Lambda::EventInvokeConfig").values().iterator().next();
        // the qualifier is the alias's name, taken from its ARN
        assertTrue(String.valueOf(invokeConfig.get("Qualifier")).contains("Ref=" + alias), invokeConfig.toString());
        assertEquals(2, invokeConfig.get("MaximumRetryAttempts"));
        assertTrue(Cfn.render(invokeConfig.get("FunctionName")).contains(Cfn.functionLogicalId(t, "s3Trigger")));
        t.resourceCountIs("AWS::Lambda::EventInvokeConfig", 1);
        assertTrue(Cfn.resources(t, "AWS::Lambda::Alias").containsKey(alias));
    }

    @Test
    @SuppressWarnings("unchecked")
    void snapStartVersionsBehindAnAliasThatEveryTriggerInvokes() {
        for (Template t : List.of(Synth.msk(), Synth.variant())) {
            for (String export : List.of(Contract.EXPORT_S3, Contract.EXPORT_KAFKA)) {
                String fn = Cfn.functionLogicalId(t, export);
                Map<String, Object> props = Cfn.resources(t, "AWS::Lambda::Function").get(fn);
                assertEquals(Map.of("ApplyOn", "PublishedVersions"), props.get("SnapStart"), export);
                assertTrue(((Number) props.get("ReservedConcurrentExecutions")).intValue() > 0, export);
                // the alias points at a published version of this very function
                Map<String, Object> alias = Cfn.resources(t, "AWS::Lambda::Alias").get(aliasOf(t, fn));
                String version = ((List<String>) ((Map<String, Object>) alias.get("FunctionVersion")).get("Fn::GetAtt"))
                        .get(0);
                assertEquals(Map.of("Ref", fn), Cfn.resources(t, "AWS::Lambda::Version").get(version).get("FunctionName"));
            }
            // the mapping invokes the Kafka function's alias (a qualified name), never $LATEST
            String kafkaAlias = aliasOf(t, Cfn.functionLogicalId(t, Contract.EXPORT_KAFKA));
            String mapped = Cfn.render(Cfn.resources(t, "AWS::Lambda::EventSourceMapping").values().iterator().next()
                    .get("FunctionName"));
            assertTrue(mapped.contains(kafkaAlias) && mapped.endsWith(":" + ValidationFunctions.ALIAS), mapped);
        }
        Template x86 = Synth.variant();
        Template arm = Synth.msk();
        assertEquals(List.of("x86_64"), Cfn.resources(x86, "AWS::Lambda::Function").values().iterator().next()
                .get("Architectures"));
        assertEquals(List.of("arm64"), Cfn.resources(arm, "AWS::Lambda::Function").values().iterator().next()
                .get("Architectures"));
    }

    @Test
    @SuppressWarnings("unchecked")
    void aKafkaRecordThatKeepsFailingLeavesItsPartitionForTheFailureQueue() {
        for (Template t : List.of(Synth.msk(), Synth.variant())) {
            Map<String, Object> esm = Cfn.resources(t, "AWS::Lambda::EventSourceMapping").values().iterator().next();
            int retries = ((Number) esm.get("MaximumRetryAttempts")).intValue();
            int age = ((Number) esm.get("MaximumRecordAgeInSeconds")).intValue();
            // Lambda's defaults are -1 (infinite) for both: one bad record would stop the partition
            assertTrue(retries >= 0 && retries <= 10_000, "MaximumRetryAttempts " + retries);
            assertTrue(age >= 60 && age <= 604_800, "MaximumRecordAgeInSeconds " + age);
            assertEquals(true, esm.get("BisectBatchOnFunctionError"));
            // a record must live long enough for its first attempt to finish
            int timeout = ((Number) Cfn.functionWithExport(t, Contract.EXPORT_KAFKA).orElseThrow().get("Timeout"))
                    .intValue();
            assertTrue(age > timeout, "record age " + age + " s <= function timeout " + timeout + " s");
            // AWS offers the error-handling controls of Kafka mappings in provisioned poller mode
            Map<String, Object> pollers = (Map<String, Object>) esm.get("ProvisionedPollerConfig");
            assertTrue(((Number) pollers.get("MinimumPollers")).intValue() >= 1, String.valueOf(pollers));
            // what it gives up on lands in a queue, the queue raises an alarm, and the function may send to it
            Map<String, Object> onFailure = (Map<String, Object>) ((Map<String, Object>) esm.get("DestinationConfig"))
                    .get("OnFailure");
            String queue = ((List<String>) ((Map<String, Object>) onFailure.get("Destination")).get("Fn::GetAtt")).get(0);
            assertTrue(Cfn.resources(t, "AWS::SQS::Queue").containsKey(queue), queue);
            assertTrue(Cfn.resources(t, "AWS::CloudWatch::Alarm").values().stream().anyMatch(a ->
                    "ApproximateNumberOfMessagesVisible".equals(a.get("MetricName"))
                            && String.valueOf(a.get("Dimensions")).contains(queue)
                            && a.get("AlarmActions") != null), "no alarm on " + queue);
            assertTrue(Cfn.roleStatements(t, Cfn.functionRole(t, Contract.EXPORT_KAFKA)).stream()
                    .anyMatch(st -> st.allows() && st.hasAction("sqs:SendMessage")
                            && st.resources().equals(List.of("${" + queue + ".Arn}"))), "function cannot send to " + queue);
        }
    }

    /** Logical id of the alias of a function. */
    @SuppressWarnings("unchecked")
    static String aliasOf(Template t, String functionLogicalId) {
        return Cfn.resources(t, "AWS::Lambda::Alias").entrySet().stream()
                .filter(e -> Map.of("Ref", functionLogicalId).equals(e.getValue().get("FunctionName")))
                .map(Map.Entry::getKey).findFirst()
                .orElseThrow(() -> new AssertionError("no alias of " + functionLogicalId));
    }

    @Test
    void mskEventSourceMappingReadsAdapterUploadsWithIam() {
        Template t = Synth.msk();
        t.resourceCountIs("AWS::Lambda::EventSourceMapping", 1);
        t.hasResourceProperties("AWS::Lambda::EventSourceMapping", Map.of(
                "EventSourceArn", Synth.CLUSTER_ARN,
                "Topics", List.of("adapter-uploads"),
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
                "SelfManagedEventSource", Map.of("Endpoints", Map.of("KafkaBootstrapServers",
                        List.of("kafka-1.internal.example:9096", "kafka-2.internal.example:9096"))),
                "SelfManagedKafkaEventSourceConfig", Map.of("ConsumerGroupId", "mergeline-functions"),
                "SourceAccessConfigurations", Match.arrayWith(List.of(
                        Map.of("Type", "SASL_SCRAM_512_AUTH", "URI", Synth.SECRET_ARN),
                        Match.objectLike(Map.of("Type", "VPC_SECURITY_GROUP")),
                        Map.of("Type", "VPC_SUBNET", "URI", "subnet-0aaaaaaaaaaaaaaa1"),
                        Map.of("Type", "VPC_SUBNET", "URI", "subnet-0bbbbbbbbbbbbbbb2")))));
        // the clients authenticate with SCRAM too: the JAAS line names the secret, the callback reads it at
        // run time; no user or password, nor a reference that would resolve to one, is in the function's
        // configuration
        String template = String.valueOf(t.toJSON());
        assertFalse(template.contains("{{resolve:secretsmanager:"), "a dynamic reference resolves the secret");
        for (String export : List.of("s3Trigger", "kafkaTrigger")) {
            Map<String, Object> vars = envOf(t, export);
            assertEquals("SASL_SSL", vars.get("KAFKA_SECURITY_PROTOCOL"));
            assertEquals("SCRAM-SHA-512", vars.get("KAFKA_SASL_MECHANISM"));
            assertEquals("org.apache.kafka.common.security.scram.ScramLoginModule required secretArn=\""
                    + Synth.SECRET_ARN + "\";", vars.get("KAFKA_SASL_JAAS_CONFIG"));
            assertEquals("dev.mergeline.s3.SecretsManagerScramCallback", vars.get("KAFKA_SASL_CLIENT_CALLBACK_HANDLER_CLASS"));
            assertFalse(vars.containsKey("MERGELINE_KAFKA_PASSWORD"), vars::toString);
            // and its role may read that secret, and only that one
            List<Cfn.Statement> statements = Cfn.roleStatements(t, Cfn.functionRole(t, export));
            assertTrue(statements.stream().anyMatch(st -> st.allows() && st.hasAction("secretsmanager:GetSecretValue")
                    && st.resources().equals(List.of(Synth.SECRET_ARN))), export + ": " + statements);
        }
    }

    @Test
    void importedVpcPlacesFunctionsInTheGivenSubnetsAndOpensTheBrokers() {
        Template t = Synth.variant();
        t.resourceCountIs("AWS::EC2::VPC", 0);
        t.hasResourceProperties("AWS::Lambda::Function", Map.of("VpcConfig", Match.objectLike(Map.of(
                "SubnetIds", List.of("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2")))));
        // the brokers open only the port of the bootstrap servers (SASL/SCRAM here), not 9092-9098
        List<Map<String, Object>> brokerRules = Cfn.resources(t, "AWS::EC2::SecurityGroupIngress").values().stream()
                .filter(r -> "sg-0123456789abcdef0".equals(r.get("GroupId"))).toList();
        assertEquals(1, brokerRules.size(), brokerRules.toString());
        assertEquals(9096, brokerRules.get(0).get("FromPort"));
        assertEquals(9096, brokerRules.get(0).get("ToPort"));
        // default: a small VPC of its own, with an S3 gateway endpoint
        Template created = Synth.msk();
        created.resourceCountIs("AWS::EC2::VPC", 1);
        created.resourceCountIs("AWS::EC2::NatGateway", 1);
        created.hasResourceProperties("AWS::EC2::VPCEndpoint", Map.of("VpcEndpointType", "Gateway",
                "ServiceName", Match.objectLike(Map.of())));
    }

    @Test
    @SuppressWarnings("unchecked")
    void importedVpcGetsTheEndpointsTheFunctionsAndTheKafkaMappingNeedWithoutNat() {
        Template t = Synth.variant();
        t.hasResourceProperties("AWS::EC2::VPCEndpoint", Map.of(
                "VpcEndpointType", "Gateway",
                "VpcId", "vpc-0123456789abcdef0",
                "RouteTableIds", List.of("rtb-0aaaaaaaaaaaaaaa1", "rtb-0bbbbbbbbbbbbbbb2")));
        List<String> services = new java.util.ArrayList<>();
        String endpointGroup = null;
        for (Map<String, Object> e : Cfn.resources(t, "AWS::EC2::VPCEndpoint").values()) {
            if ("Interface".equals(e.get("VpcEndpointType"))) {
                services.add(Cfn.render(e.get("ServiceName")).replaceAll(".*\\.", ""));
                assertEquals(true, e.get("PrivateDnsEnabled"));
                assertEquals(List.of("subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"), e.get("SubnetIds"));
                endpointGroup = String.valueOf(((List<Object>) e.get("SecurityGroupIds")).get(0));
            }
        }
        // Lambda and STS for the mapping's pollers, SQS for its failure queue, Secrets Manager for SCRAM
        assertEquals(List.of("lambda", "sts", "sqs", "secretsmanager"), services);
        // HTTPS from the clients' group and from the brokers' group (the MSK mapping's pollers use it)
        Map<String, Object> sg = Cfn.resources(t, "AWS::EC2::SecurityGroup").entrySet().stream()
                .filter(e -> String.valueOf(e.getValue().get("GroupDescription")).contains("interface endpoints"))
                .map(Map.Entry::getValue).findFirst().orElseThrow();
        List<Map<String, Object>> ingress = (List<Map<String, Object>>) sg.get("SecurityGroupIngress");
        assertEquals(List.of(443, 443), ingress.stream().map(r -> r.get("FromPort")).toList());
        assertTrue(ingress.stream().anyMatch(r -> "sg-0123456789abcdef0".equals(r.get("SourceSecurityGroupId"))),
                ingress.toString());
        assertTrue(endpointGroup.contains("GroupId"), endpointGroup);
        // the created VPC has a NAT gateway and its own S3 endpoint: no interface endpoints there
        assertEquals(0, Cfn.resources(Synth.msk(), "AWS::EC2::VPCEndpoint").values().stream()
                .filter(e -> "Interface".equals(e.get("VpcEndpointType"))).count());
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> envOf(Template t, String export) {
        Map<String, Object> fn = Cfn.functionWithExport(t, export).orElseThrow();
        return (Map<String, Object>) ((Map<String, Object>) fn.get("Environment")).get("Variables");
    }
}
