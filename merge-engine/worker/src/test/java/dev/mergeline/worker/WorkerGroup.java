package dev.mergeline.worker;

import dev.mergeline.devstack.KafkaTestResource;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.common.GroupState;

/** The worker's consumer group as the test broker sees it. */
final class WorkerGroup {
    /** {@code mp.messaging.incoming.merge-requests.group.id}. */
    static final String ID = "mergeline-worker";

    private WorkerGroup() {}

    /** The group once it is stable with at least one member (waits up to 60 s). */
    static ConsumerGroupDescription awaitStable() throws Exception {
        try (Admin admin = KafkaTestResource.broker().admin(Duration.ofSeconds(30))) {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                ConsumerGroupDescription group = admin.describeConsumerGroups(List.of(ID)).describedGroups().get(ID)
                        .get();
                if (group.groupState() == GroupState.STABLE && !group.members().isEmpty()) {
                    return group;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the worker's consumer group never became stable: " + group);
                }
                Thread.sleep(250);
            }
        }
    }
}
