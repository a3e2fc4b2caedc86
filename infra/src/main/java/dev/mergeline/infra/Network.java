package dev.mergeline.infra;

import java.util.List;

import software.amazon.awscdk.services.ec2.GatewayVpcEndpointAwsService;
import software.amazon.awscdk.services.ec2.GatewayVpcEndpointOptions;
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
 * <p>One security group, "Kafka clients", is shared by both Lambdas and the worker tasks. With
 * {@code kafkaSecurityGroupId} the brokers' group is opened to it on the Kafka ports
 * (9092 plaintext, 9094 TLS, 9096 SASL/SCRAM, 9098 IAM).
 */
public final class Network extends Construct {

    private final IVpc vpc;
    private final SecurityGroup clients;

    public Network(Construct scope, String id, MergelineConfig config) {
        super(scope, id);
        if (config.vpcId != null) {
            vpc = Vpc.fromVpcAttributes(this, "Vpc", VpcAttributes.builder()
                    .vpcId(config.vpcId)
                    .availabilityZones(config.vpcAvailabilityZones)
                    .privateSubnetIds(config.vpcPrivateSubnetIds)
                    .build());
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
        if (config.kafkaSecurityGroupId != null) {
            SecurityGroup.fromSecurityGroupId(this, "Brokers", config.kafkaSecurityGroupId,
                            software.amazon.awscdk.services.ec2.SecurityGroupImportOptions.builder()
                                    .mutable(true).allowAllOutbound(true).build())
                    .addIngressRule(Peer.securityGroupId(clients.getSecurityGroupId()),
                            Port.tcpRange(9092, 9098), "Mergeline Kafka clients");
        }
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
