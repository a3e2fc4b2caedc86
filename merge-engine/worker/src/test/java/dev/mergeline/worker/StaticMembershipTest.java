package dev.mergeline.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.mergeline.devstack.KafkaTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.smallrye.reactive.messaging.kafka.KafkaClientService;
import jakarta.inject.Inject;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.junit.jupiter.api.Test;

/** {@code mergeline.worker.instance-id} makes the worker a static member of its consumer group. */
@QuarkusTest
@TestProfile(StaticMembershipTest.InstanceId.class)
@WithTestResource(KafkaTestResource.class)
class StaticMembershipTest {
    static final String INSTANCE_ID = "worker-test-a";

    public static class InstanceId implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("mergeline.worker.instance-id", INSTANCE_ID);
        }
    }

    @Inject
    KafkaClientService kafka;

    @Test
    void theConfiguredInstanceIdReachesTheBroker() throws Exception {
        Map<String, ?> config = kafka.getConsumer("merge-requests").configuration();
        assertEquals(INSTANCE_ID, config.get("group.instance.id"));
        ConsumerGroupDescription group = WorkerGroup.awaitStable();
        assertEquals(CooperativeStickyAssignor.COOPERATIVE_STICKY_ASSIGNOR_NAME, group.partitionAssignor());
        assertEquals(1, group.members().size(), group.toString());
        assertEquals(Optional.of(INSTANCE_ID), group.members().iterator().next().groupInstanceId());
    }
}
