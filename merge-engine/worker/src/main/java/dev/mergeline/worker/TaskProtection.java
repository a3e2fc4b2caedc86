package dev.mergeline.worker;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;

/**
 * ECS task scale-in protection around each job: while a merge runs, neither service scale-in nor a
 * deployment stops this task. Through the ECS container agent's endpoint
 * {@code $ECS_AGENT_URI/task-protection/v1/state}: {@code PUT {"ProtectionEnabled":true,"ExpiresInMinutes":N}}
 * before a job starts, {@code PUT {"ProtectionEnabled":false}} once it is over and its offset had
 * time to be committed ({@code release-delay}, longer than the throttled commit strategy's commit
 * interval), so scale-in never stops a task whose finished job Kafka would still redeliver. A new
 * job within that delay keeps the protection (the pending release is cancelled).
 *
 * <p>The expiry bounds a protection that is never cleared (a hung worker): ECS drops it after
 * {@code N} minutes. Outside ECS ({@code ECS_AGENT_URI} unset) every call is a no-op. The agent
 * being unreachable or refusing never fails a job: it is logged, and the job runs unprotected
 * (SIGTERM still hands it back for redelivery).
 */
@ApplicationScoped
public class TaskProtection {
    private static final Logger LOG = Logger.getLogger(TaskProtection.class);
    static final String PATH = "/task-protection/v1/state";
    /** The agent is on the same host; generous bounds only matter on a starved machine (one call per job). */
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);

    private final Optional<URI> endpoint;
    private final int expiresInMinutes;
    private final Duration releaseDelay;
    private final HttpClient http;
    private final ScheduledExecutorService scheduler;
    private ScheduledFuture<?> pendingRelease;

    /** {@code agentUri}: {@code ECS_AGENT_URI} (set by the ECS agent in every container), or empty outside ECS. */
    @Inject
    public TaskProtection(
            @ConfigProperty(name = "ecs.agent.uri") Optional<String> agentUri,
            @ConfigProperty(name = "mergeline.worker.task-protection.expires-in-minutes", defaultValue = "240")
            int expiresInMinutes,
            @ConfigProperty(name = "mergeline.worker.task-protection.release-delay", defaultValue = "PT15S")
            Duration releaseDelay) {
        this(agentUri.filter(s -> !s.isBlank()).map(TaskProtection::stateEndpoint), expiresInMinutes, releaseDelay,
                true);
    }

    private TaskProtection(Optional<URI> endpoint, int expiresInMinutes, Duration releaseDelay, boolean resolved) {
        if (expiresInMinutes < 1 || expiresInMinutes > 2880) {
            throw new IllegalArgumentException("task protection expires-in-minutes must be 1..2880 (ECS's bounds), got "
                    + expiresInMinutes);
        }
        this.endpoint = endpoint;
        this.expiresInMinutes = expiresInMinutes;
        this.releaseDelay = releaseDelay;
        this.http = endpoint.isPresent()
                ? HttpClient.newBuilder().connectTimeout(CONNECT_TIMEOUT).build() : null;
        this.scheduler = endpoint.isPresent() ? Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "mergeline-task-protection");
            t.setDaemon(true);
            return t;
        }) : null;
    }

    static URI stateEndpoint(String agentUri) {
        String base = agentUri.endsWith("/") ? agentUri.substring(0, agentUri.length() - 1) : agentUri;
        return URI.create(base + PATH);
    }

    /** Protects the task before {@code jobId} starts (cancels a pending release). */
    public synchronized void protect(String jobId) {
        if (endpoint.isEmpty()) {
            return;
        }
        if (pendingRelease != null) {
            pendingRelease.cancel(false);
            pendingRelease = null;
        }
        put("{\"ProtectionEnabled\":true,\"ExpiresInMinutes\":" + expiresInMinutes + "}", jobId);
    }

    /** Clears the protection {@code release-delay} after {@code jobId} ended, once its offset is committed. */
    public synchronized void release(String jobId) {
        if (endpoint.isEmpty()) {
            return;
        }
        if (pendingRelease != null) {
            pendingRelease.cancel(false);
        }
        pendingRelease = scheduler.schedule(() -> {
            synchronized (this) {
                // a job that started meanwhile cleared pendingRelease under this lock: keep its protection
                if (pendingRelease != null && !pendingRelease.isCancelled()) {
                    pendingRelease = null;
                    put("{\"ProtectionEnabled\":false}", jobId);
                }
            }
        }, releaseDelay.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void put(String body, String jobId) {
        HttpRequest request = HttpRequest.newBuilder(endpoint.orElseThrow())
                .timeout(REQUEST_TIMEOUT)
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
                .build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            // The agent answers {"protection":{…}} on success, {"failure":{…}} or {"error":{…}} otherwise.
            if (response.statusCode() / 100 != 2 || !response.body().contains("\"protection\"")) {
                LOG.warnf("ECS task protection %s for job %s refused: HTTP %d %s", body, jobId,
                        response.statusCode(), response.body());
            } else {
                LOG.debugf("ECS task protection %s for job %s", body, jobId);
            }
        } catch (IOException e) {
            LOG.warnf("ECS task protection %s for job %s failed: %s", body, jobId, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            LOG.warnf("ECS task protection %s for job %s interrupted", body, jobId);
        }
    }

    @PreDestroy
    void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
    }
}
