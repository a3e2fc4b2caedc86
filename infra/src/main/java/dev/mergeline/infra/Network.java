package dev.mergeline.infra;

import java.util.List;

import software.amazon.awscdk.services.ec2.GatewayVpcEndpoint;
import software.amazon.awscdk.services.ec2.GatewayVpcEndpointAwsService;
import software.amazon.awscdk.services.ec2.GatewayVpcEndpointOptions;
import software.amazon.awscdk.services.ec2.ISecurityGroup;
import software.amazon.awscdk.services.ec2.InterfaceVpcEndpoint;
import software.amazon.awscdk.services.ec2.InterfaceVpcEndpointAwsService;
import software.amazon.awscdk.services.ec2.IVpc;
import software.amazon.awscdk.services.ec2.IpAddresses;
import software.amazon.awscdk.services.ec2.Peer;
import software.amazon.awscdk.services.ec2.Port;
import software.amazon.awscdk.services.ec2.SecurityGroup;
import software.amazon.awscdk.services.ec2.SubnetConfiguration;
import software.amazon.awscdk.services.ec2.SubnetSelection;
import software.amazon.awscdk.services.ec2.SubnetType;
import software.amazon.awscdk.services.ec2.Vpc;
import software.amazon.awscdk.services.ec2.VpcAttributes;
import software.constructs.Construct;

/**
 * Where the functions and the worker run: private subnets that reach the Kafka brokers, S3 and ECR.
 *
 * <p>With {@code vpcId} (the normal case with MSK: the clients must sit in, or be peered with,
 * the cluster's VPC) the VPC is imported from its attributes, without a lookup, so synthesis
 * needs no AWS credentials. Without it a small VPC is created: two zones, public and private
 * subnets, one NAT gateway (image pulls, Kafka outside AWS) and an S3 gateway endpoint, so that
 * model weights never pass through the NAT gateway.
 *
 * <p>An imported VPC gets what the functions and the Kafka event source mapping need without a NAT
 * gateway: an S3 gateway endpoint on {@code vpcPrivateRouteTableIds} (when given), and interface
 * endpoints (private DNS) for Lambda and STS (the MSK mapping's pollers), SQS (its on-failure
 * queue) and, with SCRAM, Secrets Manager. They admit HTTPS from the clients' group and the
 * brokers' group (the MSK mapping's pollers run with the cluster's groups).
 * {@code vpcInterfaceEndpoints=false} skips them where the VPC has its own.
 *
 * <p>One security group, "Kafka clients", is shared by both Lambdas and the worker tasks. With
 * {@code kafkaSecurityGroupId} the brokers' group is opened to it on the bootstrap servers' ports
 * only ({@link MergelineConfig#kafkaPorts()}: one listener per auth mode on MSK).
 */
public final class Network extends Construct {

    private final IVpc vpc;
    private final SecurityGroup clients;

    public Network(Construct scope, String id, MergelineConfig config) {
        super(scope, id);
        if (config.vpcId != null) {
            VpcAttributes.Builder attributes = VpcAttributes.builder()
                    .vpcId(config.vpcId)
                    .availabilityZones(config.vpcAvailabilityZones)
                    .privateSubnetIds(config.vpcPrivateSubnetIds);
            if (!config.vpcPrivateRouteTableIds.isEmpty()) {
                attributes.privateSubnetRouteTableIds(config.vpcPrivateRouteTableIds);
            }
            vpc = Vpc.fromVpcAttributes(this, "Vpc", attributes.build());
        } else {
            Vpc created = Vpc.Builder.create(this, "Vpc")
                    .ipAddresses(IpAddresses.cidr("10.42.0.0/16"))
                    .maxAzs(2)
                    .natGateways(1)
                    .subnetConfiguration(List.of(
                            SubnetConfiguration.builder().name("public").subnetType(SubnetType.PUBLIC)
                                    .cidrMask(24).build(),
                            SubnetConfiguration.builder().name("private")
                                    .subnetType(SubnetType.PRIVATE_WITH_EGRESS).cidrMask(20).build()))
                    .build();
            created.addGatewayEndpoint("S3", GatewayVpcEndpointOptions.builder()
                    .service(GatewayVpcEndpointAwsService.S3)
                    .build());
            vpc = created;
        }
        clients = SecurityGroup.Builder.create(this, "KafkaClients")
                .vpc(vpc)
                .description("Mergeline functions and merge worker (Kafka clients)")
                .allowAllOutbound(true)
                .build();
        ISecurityGroup brokers = null;
        if (config.kafkaSecurityGroupId != null) {
            brokers = SecurityGroup.fromSecurityGroupId(this, "Brokers", config.kafkaSecurityGroupId,
                    software.amazon.awscdk.services.ec2.SecurityGroupImportOptions.builder()
                            .mutable(true).allowAllOutbound(true).build());
            for (int port : config.kafkaPorts()) {
                brokers.addIngressRule(Peer.securityGroupId(clients.getSecurityGroupId()), Port.tcp(port),
                        "Mergeline Kafka clients");
            }
        }
        if (config.vpcId != null) {
            if (!config.vpcPrivateRouteTableIds.isEmpty()) {
                GatewayVpcEndpoint.Builder.create(this, "S3")
                        .vpc(vpc)
                        .service(GatewayVpcEndpointAwsService.S3)
                        .subnets(List.of(privateSubnets()))
                        .build();
            }
            if (config.vpcInterfaceEndpoints) {
                interfaceEndpoints(config, brokers);
            }
        }
    }

    private void interfaceEndpoints(MergelineConfig config, ISecurityGroup brokers) {
        SecurityGroup endpoints = SecurityGroup.Builder.create(this, "Endpoints")
                .vpc(vpc)
                .description("Mergeline interface endpoints (HTTPS from the clients and the Kafka mapping)")
                .allowAllOutbound(false)
                .build();
        endpoints.addIngressRule(Peer.securityGroupId(clients.getSecurityGroupId()), Port.tcp(443),
                "Mergeline functions and worker");
        if (brokers != null) {
            endpoints.addIngressRule(Peer.securityGroupId(brokers.getSecurityGroupId()), Port.tcp(443),
                    "Lambda's Kafka pollers (the brokers' group)");
        }
        java.util.Map<String, InterfaceVpcEndpointAwsService> services = new java.util.LinkedHashMap<>();
        services.put("Lambda", InterfaceVpcEndpointAwsService.LAMBDA);
        services.put("Sts", InterfaceVpcEndpointAwsService.STS);
        services.put("Sqs", InterfaceVpcEndpointAwsService.SQS);
        if (config.kafkaClientAuth == MergelineConfig.KafkaClientAuth.SCRAM) {
            services.put("SecretsManager", InterfaceVpcEndpointAwsService.SECRETS_MANAGER);
        }
        services.forEach((id, service) -> InterfaceVpcEndpoint.Builder.create(this, id)
                .vpc(vpc)
                .service(service)
                .subnets(privateSubnets())
                .privateDnsEnabled(true)
                .securityGroups(List.of(endpoints))
                .open(false)
                .build());
    }

    public IVpc vpc() {
        return vpc;
    }

    public SecurityGroup clients() {
        return clients;
    }

    public SubnetSelection privateSubnets() {
        return SubnetSelection.builder().subnets(vpc.getPrivateSubnets()).build();
    }
}
