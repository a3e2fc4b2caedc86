package dev.mergeline.s3;

import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.run.MergeInputs;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.CheckpointIndex;
import dev.mergeline.safetensors.HeaderLimits;
import dev.mergeline.safetensors.SafetensorsException;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Reads what validation needs from S3 and nothing more: two config files and safetensors headers
 * (a ranged GET of the first 8 bytes, then one of the header). Tensor data is never fetched, so
 * the bytes read do not grow with adapter or base size. {@link InputLimits} are enforced before the
 * input they bound is read: the adapter weights' size from the listing, header lengths from their
 * 8-byte prefix, the adapter's tensor count while its header is parsed.
 */
public final class RemoteCheckpoints {
    public static final String ADAPTER_CONFIG = "adapter_config.json";
    public static final String ADAPTER_WEIGHTS = "adapter_model.safetensors";
    public static final String ADAPTER_PICKLE = "adapter_model.bin";
    public static final String BASE_CONFIG = "config.json";
    public static final String INDEX = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";
    /** Largest JSON file read whole (configs, index). */
    public static final long MAX_JSON_BYTES = 16L << 20;

    private final S3Objects s3;
    private final InputLimits limits;

    /** @param limits how large the inputs may be, each enforced before that input is read */
    public RemoteCheckpoints(S3Objects s3, InputLimits limits) {
        this.s3 = s3;
        this.limits = Objects.requireNonNull(limits, "limits");
    }

    /**
     * What was read for one validation.
     *
     * @param inputs configs and headers for the {@code Validator}
     * @param adapterEtags adapter file name → ETag
     * @param baseEtags base file name → ETag (config, index, shards)
     * @param bytesRead object bytes fetched for this validation
     */
    public record Read(MergeInputs inputs, Map<String, String> adapterEtags, Map<String, String> baseEtags,
            long bytesRead) {}

    /**
     * Reads adapter and base. Missing or unreadable pieces become reasons; storage failures stay
     * {@link StorageException}s (a retry may help).
     */
    public Read read(String bucket, String adapterPrefix, List<ObjectInfo> adapterObjects, byte[] adapterConfigJson,
            String basePrefix) throws StorageException, RejectedException {
        long before = s3.bytesRead();
        List<Reason> reasons = new ArrayList<>();
        Map<String, String> adapterEtags = new LinkedHashMap<>();
        Map<String, ObjectInfo> adapterFiles = new LinkedHashMap<>();
        adapterObjects.forEach(o -> adapterFiles.put(o.fileName(), o));
        byte[] adapterConfig = null;
        SafetensorsHeader adapterHeader = null;
        ObjectInfo config = adapterFiles.get(ADAPTER_CONFIG);
        ObjectInfo weights = adapterFiles.get(ADAPTER_WEIGHTS);
        if (config == null) {
            reasons.add(Reason.about(ReasonCode.ADAPTER_FILES_MISSING, adapterPrefix + ADAPTER_CONFIG,
                    "the adapter has no " + ADAPTER_CONFIG));
        } else {
            adapterEtags.put(ADAPTER_CONFIG, config.etag());
            adapterConfig = adapterConfigJson != null ? adapterConfigJson
                    : json(bucket, config, reasons, ReasonCode.ADAPTER_CONFIG_INVALID);
        }
        if (weights == null) {
            reasons.add(adapterFiles.containsKey(ADAPTER_PICKLE)
                    ? Reason.about(ReasonCode.PICKLE_WEIGHTS_REFUSED, adapterPrefix + ADAPTER_PICKLE, "the adapter ships "
                            + "only " + ADAPTER_PICKLE + " (pickle, which can run code when loaded); save it with safe_serialization=True")
                    : Reason.about(ReasonCode.ADAPTER_FILES_MISSING, adapterPrefix + ADAPTER_WEIGHTS,
                            "the adapter has no " + ADAPTER_WEIGHTS));
        } else {
            adapterEtags.put(ADAPTER_WEIGHTS, weights.etag());
            Optional<Reason> tooLarge = limits.checkAdapterBytes(weights.key(), weights.size());
            if (tooLarge.isPresent()) {
                reasons.add(tooLarge.get());
            } else {
                adapterHeader = header(bucket, weights, limits.adapterHeader(), reasons);
            }
        }
        Map<String, String> baseEtags = new LinkedHashMap<>();
        byte[] baseConfig = null;
        List<TensorInfo> baseTensors = new ArrayList<>();
        Optional<ObjectInfo> baseConfigInfo = s3.head(bucket, basePrefix + BASE_CONFIG);
        if (baseConfigInfo.isEmpty()) {
            reasons.add(Reason.about(ReasonCode.BASE_MODEL_UNKNOWN, basePrefix,
                    "no base model at s3://" + bucket + "/" + basePrefix + " (no " + BASE_CONFIG + ")"));
        } else {
            baseEtags.put(BASE_CONFIG, baseConfigInfo.get().etag());
            baseConfig = json(bucket, baseConfigInfo.get(), reasons, ReasonCode.BASE_MODEL_UNKNOWN);
            readBaseWeights(bucket, basePrefix, baseEtags, baseTensors, reasons);
        }
        if (!reasons.isEmpty()) {
            throw new RejectedException(reasons);
        }
        return new Read(new MergeInputs(adapterConfig, adapterHeader, baseConfig, baseTensors), adapterEtags, baseEtags,
                s3.bytesRead() - before);
    }

    private void readBaseWeights(String bucket, String prefix, Map<String, String> etags, List<TensorInfo> tensors,
            List<Reason> reasons) throws StorageException {
        Optional<ObjectInfo> index = s3.head(bucket, prefix + INDEX);
        List<String> files = new ArrayList<>();
        if (index.isPresent()) {
            etags.put(INDEX, index.get().etag());
            byte[] json = json(bucket, index.get(), reasons, ReasonCode.SAFETENSORS_HEADER_INVALID);
            if (json == null) {
                return;
            }
            try {
                files.addAll(new LinkedHashSet<>(CheckpointIndex.parse(json).weightMap().values()));
                files.sort(String::compareTo);
            } catch (SafetensorsException e) {
                reasons.add(limits.headerReason(e, prefix + INDEX));
                return;
            }
        } else {
            files.add(SINGLE_FILE);
        }
        for (String file : files) {
            Optional<ObjectInfo> info = s3.head(bucket, prefix + file);
            if (info.isEmpty()) {
                reasons.add(Reason.about(ReasonCode.BASE_MODEL_UNKNOWN, prefix + file,
                        "the base checkpoint lacks " + file + (index.isPresent() ? " (listed in its index)" : "")));
                continue;
            }
            etags.put(file, info.get().etag());
            SafetensorsHeader h = header(bucket, info.get(), limits.baseHeader(), reasons);
            if (h != null) {
                tensors.addAll(h.tensors());
            }
        }
    }

    /** A small JSON object read whole (adapter_config.json, merge.json), size-checked first. */
    public byte[] readJson(String bucket, ObjectInfo o) throws StorageException, RejectedException {
        List<Reason> reasons = new ArrayList<>();
        byte[] bytes = json(bucket, o, reasons, ReasonCode.ADAPTER_CONFIG_INVALID);
        if (!reasons.isEmpty()) {
            throw new RejectedException(reasons);
        }
        return bytes;
    }

    private byte[] json(String bucket, ObjectInfo o, List<Reason> reasons, ReasonCode tooLarge) throws StorageException {
        if (o.size() > MAX_JSON_BYTES) {
            reasons.add(Reason.mismatch(tooLarge, o.key(), o.fileName() + " is too large to be a config",
                    "<= " + MAX_JSON_BYTES + " bytes", o.size()));
            return null;
        }
        return s3.getSmall(bucket, o.key(), MAX_JSON_BYTES);
    }

    /** First 8 bytes, then exactly the header; limits are checked before anything large is read. */
    private SafetensorsHeader header(String bucket, ObjectInfo o, HeaderLimits headerLimits, List<Reason> reasons)
            throws StorageException {
        try {
            byte[] first8 = s3.getRange(bucket, o.key(), 0, Math.min(8, o.size()));
            long length = SafetensorsHeader.parseHeaderLength(ByteBuffer.wrap(first8), o.size(),
                    headerLimits.maxHeaderBytes());
            byte[] header = s3.getRange(bucket, o.key(), 8, length);
            return SafetensorsHeader.parse(header, o.size(), headerLimits.maxTensors());
        } catch (SafetensorsException e) {
            reasons.add(limits.headerReason(e, o.key()));
            return null;
        }
    }
}
