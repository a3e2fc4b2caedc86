package dev.mergeline.functions;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.mergeline.core.plan.MergePlan;
import dev.mergeline.core.run.InputRules;
import dev.mergeline.core.run.Validator;
import dev.mergeline.core.serving.ServingRules;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.events.AdapterLocation;
import dev.mergeline.events.AdapterRef;
import dev.mergeline.events.AdapterRejected;
import dev.mergeline.events.BaseIdentity;
import dev.mergeline.events.BaseRef;
import dev.mergeline.events.MergeOptions;
import dev.mergeline.events.MergeRequested;
import dev.mergeline.events.ServingVerdict;
import dev.mergeline.quarkus.WireMapping;
import dev.mergeline.s3.ObjectInfo;
import dev.mergeline.s3.S3Directory;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.StorageException;
import dev.mergeline.safetensors.DType;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Validates one adapter in S3 against its base — configs and safetensors headers only — and
 * publishes {@code merge.requested} or {@code adapter.rejected}. Shared by the S3 trigger, the
 * Kafka trigger and the service-mode consumer.
 */
@ApplicationScoped
public class AdapterIntakeService {
    private static final ServingRules SERVING_RULES = ServingRules.bundled();

    private static final Logger LOG = Logger.getLogger(AdapterIntakeService.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Optional merge options beside the adapter: base name, output dtype, shard size. */
    private static final String MERGE_JSON = "merge.json";

    /** What happened to one adapter. */
    public enum Outcome {
        /** Not all required files are there yet; nothing recorded (the next upload triggers again). */
        INCOMPLETE,
        REQUESTED,
        REJECTED
    }

    @Inject
    FunctionsConfig config;
    @Inject
    S3Objects s3;
    @Inject
    InputRules rules;
    @Inject
    EventPublisher publisher;

    private final Validator validator = new Validator();

    /**
     * @param baseOverride base name from an announcement, if any
     * @throws StorageException when S3 fails, after the SDK's retries. Never reported as a rejection:
     *     nothing is published, the trigger fails and is retried (Lambda retries the invocation or
     *     the batch), and a failure that retrying cannot fix (access denied) surfaces as the
     *     function's errors, not as an adapter's fault
     */
    public Outcome handle(AdapterLocation adapter, Optional<String> baseOverride) throws StorageException {
        List<ObjectInfo> objects = s3.list(adapter.bucket(), adapter.prefix());
        S3Directory adapterDir = new S3Directory(s3, adapter.bucket(), adapter.prefix(), objects);
        if (!InputRules.adapterComplete(adapterDir.files().keySet())) {
            LOG.infof("adapter %s incomplete (%s); waiting for the other file", adapter.prefix(),
                    adapterDir.files().keySet());
            return Outcome.INCOMPLETE;
        }
        AdapterRef ref = AdapterRef.of(adapter);
        long before = s3.bytesRead();
        try {
            InputRules.Adapter adapterFiles = rules.adapter(adapterDir);
            if (adapterFiles.configJson() == null) {
                throw new RejectedException(adapterFiles.problems());
            }
            JsonNode configNode = parseQuietly(adapterFiles.configJson());
            ref = describe(adapter, configNode);
            Optional<byte[]> mergeJsonBytes = rules.optionalConfig(adapterDir, MERGE_JSON);
            JsonNode mergeJson = mergeJsonBytes.isPresent() ? parseOrReject(mergeJsonBytes.get(), MERGE_JSON)
                    : JSON.createObjectNode();
            String baseName = baseName(baseOverride, mergeJson, configNode);
            MergeOptions options = options(mergeJson);
            String basePrefix = BaseRef.prefixFor(baseName);
            S3Directory baseDir = S3Directory.list(s3, adapter.bucket(), basePrefix);
            InputRules.Base baseFiles = rules.base(baseDir);
            MergePlan plan = validator.validate(InputRules.inputs(adapterFiles, baseFiles),
                    WireMapping.engineOptions(options));
            Map<String, String> adapterEtags = adapterDir.etags(adapterFiles.files());
            Map<String, String> baseEtags = baseDir.etags(baseFiles.files());
            String identity = BaseIdentity.compute(baseEtags.get(InputRules.BASE_CONFIG), weightEtags(baseEtags));
            String jobId = WireMapping.jobId(adapterEtags, identity, options);
            AdapterRef requested = new AdapterRef(ref.bucket(), ref.prefix(), ref.id(), adapterEtags,
                    ref.peftType(), ref.r(), ref.targetModules());
            BaseRef base = new BaseRef(baseName, adapter.bucket(), basePrefix, identity, baseEtags);
            long bytesRead = s3.bytesRead() - before;
            // Same upload, same event id: duplicate deliveries of this trigger become exact duplicates
            // that the worker drops (see MergeRequestId).
            publisher.mergeRequested(new MergeRequested(jobId, requested, base, options, bytesRead, serving(plan)),
                    MergeRequestId.of(jobId, adapter, objects));
            LOG.infof("adapter %s accepted: job %s, %d tensors planned (%d merged), %d bytes read to validate",
                    adapter.prefix(), jobId, plan.tensors().size(), plan.counts().merged(), bytesRead);
            return Outcome.REQUESTED;
        } catch (RejectedException e) {
            publisher.adapterRejected(new AdapterRejected(ref, WireMapping.problems(e.reasons())));
            LOG.infof("adapter %s rejected: %s (%d bytes read)", adapter.prefix(), e.getMessage(),
                    s3.bytesRead() - before);
            return Outcome.REJECTED;
        }
    }

    private String baseName(Optional<String> override, JsonNode mergeJson, JsonNode adapterConfig)
            throws RejectedException {
        String name = override.filter(s -> !s.isBlank())
                .or(() -> Optional.ofNullable(mergeJson.path("base").textValue()))
                .or(() -> Optional.ofNullable(adapterConfig.path("base_model_name_or_path").textValue()))
                .orElseThrow(() -> new RejectedException(Reason.of(ReasonCode.BASE_MODEL_UNKNOWN,
                        "adapter_config.json names no base_model_name_or_path and no merge.json or announcement names a base")));
        String resolved = config.baseAliases().getOrDefault(name, name);
        if (!BaseRef.isValidName(resolved)) {
            throw new RejectedException(Reason.mismatch(ReasonCode.BASE_MODEL_UNKNOWN, null, "base name '" + resolved
                    + "' is not a registered base-models/ name (a local training path needs an alias or merge.json)",
                    "a name under base-models/", resolved));
        }
        return resolved;
    }

    private static MergeOptions options(JsonNode mergeJson) throws RejectedException {
        String dtype = mergeJson.path("dtype").textValue();
        if (dtype != null && DType.fromTorchName(dtype).filter(DType::isMergeable).isEmpty()) {
            throw new RejectedException(Reason.mismatch(ReasonCode.ADAPTER_CONFIG_INVALID, "merge.json",
                    "merge.json dtype must be bf16, fp16 or fp32", "bf16|fp16|fp32", dtype));
        }
        JsonNode shard = mergeJson.get("maxShardBytes");
        Long maxShard = shard != null && shard.canConvertToLong() && shard.asLong() > 0 ? shard.asLong() : null;
        return new MergeOptions(dtype == null ? null : DType.fromTorchName(dtype).get().torchName(), maxShard);
    }

    private static AdapterRef describe(AdapterLocation adapter, JsonNode config) {
        String peftType = config.path("peft_type").textValue();
        JsonNode r = config.get("r");
        List<String> targets = new ArrayList<>();
        JsonNode t = config.get("target_modules");
        if (t != null && t.isTextual()) {
            targets.add(t.asText());
        } else if (t != null && t.isArray()) {
            t.forEach(x -> targets.add(x.asText()));
        }
        Integer rank = r != null && r.canConvertToInt() && r.asInt() > 0 ? r.asInt() : null;
        return new AdapterRef(adapter.bucket(), adapter.prefix(), adapter.id(), null, peftType, rank,
                targets.isEmpty() ? null : targets);
    }

    private static Map<String, String> weightEtags(Map<String, String> baseEtags) {
        Map<String, String> weights = new LinkedHashMap<>(baseEtags);
        weights.remove(InputRules.BASE_CONFIG);
        return weights;
    }

    private static JsonNode parseQuietly(byte[] json) {
        try {
            return JSON.readTree(json);
        } catch (IOException e) {
            return JSON.createObjectNode(); // the validator reports the invalid JSON with its reason
        }
    }

    private static JsonNode parseOrReject(byte[] json, String file) throws RejectedException {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null || !node.isObject()) {
                throw new IOException("not a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw new RejectedException(Reason.about(ReasonCode.ADAPTER_CONFIG_INVALID, file,
                    file + " is not a valid JSON object: " + e.getMessage()));
        }
    }

    /** Whether vLLM and LoRAX could serve this adapter unmerged (the same rules as {@code mergeline validate}). */
    private static Map<String, ServingVerdict> serving(MergePlan plan) {
        Map<String, ServingVerdict> serving = new LinkedHashMap<>();
        SERVING_RULES.assess(plan).forEach((engine, v) ->
                serving.put(engine, new ServingVerdict(v.servableUnmerged(), v.reasons())));
        return serving;
    }
}
