package dev.mergeline.core.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.mergeline.core.merge.ReferenceMergeKernel;
import dev.mergeline.core.testing.PeftFixtures;
import dev.mergeline.core.validation.Reason;
import dev.mergeline.core.validation.ReasonCode;
import dev.mergeline.core.validation.RejectedException;
import dev.mergeline.safetensors.DType;
import dev.mergeline.safetensors.SafetensorsHeader;
import dev.mergeline.safetensors.TensorInfo;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One negative test per reason code: a valid fixture case (Llama, bf16, LoRA on seven
 * projections) with exactly one thing broken must be rejected with that code, and, for merges,
 * leave no safetensors file behind.
 */
class ReasonCodeTest {
    private static final String CASE = "llama-bf16-plain";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<ReasonCode> TESTED = EnumSet.noneOf(ReasonCode.class);

    @TempDir
    Path tmp;
    private Path base;
    private Path adapter;

    @BeforeEach
    void copyCase() throws IOException {
        base = PeftFixtures.copyDir(PeftFixtures.caseDir(CASE).resolve("base"), tmp.resolve("base"));
        adapter = PeftFixtures.copyDir(PeftFixtures.caseDir(CASE).resolve("adapter"), tmp.resolve("adapter"));
    }

    @AfterAll
    static void everyCodeHasATest() {
        assertEquals(EnumSet.allOf(ReasonCode.class), TESTED, "reason codes without a negative test");
    }

    @Test
    void validCaseIsAccepted() throws Exception {
        assertEquals(14, validate().counts().merged());
    }

    @Test
    void adapterFilesMissing() throws Exception {
        Files.delete(adapter.resolve("adapter_config.json"));
        expect(ReasonCode.ADAPTER_FILES_MISSING, "adapter_config.json");
    }

    @Test
    void pickleWeightsRefused() throws Exception {
        Files.move(adapter.resolve("adapter_model.safetensors"), adapter.resolve("adapter_model.bin"));
        expect(ReasonCode.PICKLE_WEIGHTS_REFUSED, "adapter_model.bin");
    }

    @Test
    void safetensorsHeaderInvalidCarriesTheSubReason() throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(adapter.resolve("adapter_model.safetensors").toFile(), "rw")) {
            f.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0}); // 4 GiB header
        }
        Reason r = expect(ReasonCode.SAFETENSORS_HEADER_INVALID, null);
        assertEquals("HEADER_TOO_LARGE", r.detail());
    }

    @Test
    void adapterConfigInvalid() throws Exception {
        editConfig(c -> c.put("r", 0));
        Reason r = expect(ReasonCode.ADAPTER_CONFIG_INVALID, null);
        assertEquals("0", r.actual());
    }

    @Test
    void peftTypeUnsupported() throws Exception {
        editConfig(c -> c.put("peft_type", "IA3"));
        expect(ReasonCode.PEFT_TYPE_UNSUPPORTED, null);
    }

    @Test
    void baseMutatingInitIsAVariantWeCannotMerge() throws Exception {
        editConfig(c -> c.put("init_lora_weights", "pissa"));
        expect(ReasonCode.PEFT_VARIANT_UNSUPPORTED, null);
    }

    @Test
    void baseModelUnknown() throws Exception {
        Files.delete(base.resolve("config.json"));
        expect(ReasonCode.BASE_MODEL_UNKNOWN, "config.json");
    }

    @Test
    void baseQuantized() throws Exception {
        ObjectNode config = (ObjectNode) JSON.readTree(base.resolve("config.json").toFile());
        config.putObject("quantization_config").put("quant_method", "bitsandbytes");
        JSON.writeValue(base.resolve("config.json").toFile(), config);
        expect(ReasonCode.BASE_QUANTIZED, null);
    }

    @Test
    void architectureMismatch() throws Exception {
        Path gpt2 = PeftFixtures.copyDir(PeftFixtures.caseDir("gpt2-conv1d").resolve("base"), tmp.resolve("gpt2"));
        base = gpt2;
        expect(ReasonCode.ARCHITECTURE_MISMATCH, null);
    }

    @Test
    void targetModuleNotFound() throws Exception {
        String missing = "model.layers.1.mlp.down_proj.weight";
        expectFromHeaders(ReasonCode.TARGET_MODULE_NOT_FOUND, "model.layers.1.mlp.down_proj",
                baseTensors -> remove(baseTensors, missing), UnaryOperator.identity());
    }

    @Test
    void adapterKeysMissingWhenOneHalfOfAPairIsAbsent() throws Exception {
        expectFromHeaders(ReasonCode.ADAPTER_KEYS_MISSING, "model.layers.0.self_attn.q_proj", UnaryOperator.identity(),
                a -> remove(a, "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"));
    }

    @Test
    void adapterKeysMissingWhenATargetedModuleHasNoTensors() throws Exception {
        expectFromHeaders(ReasonCode.ADAPTER_KEYS_MISSING, "model.layers.1.self_attn.k_proj", UnaryOperator.identity(),
                a -> remove(remove(a, "base_model.model.model.layers.1.self_attn.k_proj.lora_A.weight"),
                        "base_model.model.model.layers.1.self_attn.k_proj.lora_B.weight"));
    }

    @Test
    void tensorShapeMismatchStatesExpectedAndActual() throws Exception {
        String name = "model.layers.0.self_attn.o_proj.weight";
        Reason r = expectFromHeaders(ReasonCode.TENSOR_SHAPE_MISMATCH, null,
                b -> replace(b, name, t -> new TensorInfo(t.name(), t.dtype(), List.of(t.shape().get(0), 48L),
                        t.dataOffset(), t.byteLength() / 32 * 48)),
                UnaryOperator.identity());
        assertTrue(r.message().contains("48"), r.message());
    }

    @Test
    void rankMismatch() throws Exception {
        editConfig(c -> c.putObject("rank_pattern").put("layers.1.self_attn.q_proj", 4));
        Reason r = expect(ReasonCode.RANK_MISMATCH, "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
        assertEquals("4", r.expected());
        assertEquals("8", r.actual());
    }

    @Test
    void dtypeUnsupported() throws Exception {
        String name = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight";
        expectFromHeaders(ReasonCode.DTYPE_UNSUPPORTED, name, UnaryOperator.identity(),
                a -> replace(a, name, t -> new TensorInfo(t.name(), DType.F64, t.shape(), t.dataOffset(), t.byteLength() * 2)));
    }

    @Test
    void nonFiniteWeightsAreFoundWhenMergingAndNothingIsWritten() throws Exception {
        Path file = adapter.resolve("adapter_model.safetensors");
        SafetensorsHeader header = SafetensorsHeader.read(file);
        TensorInfo b = header.tensors().stream().filter(t -> t.name().endsWith("lora_B.weight")).findFirst().orElseThrow();
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(header.dataStart() + b.dataOffset() + 4L * 5);
            f.write(new byte[] {0, 0, (byte) 0xc0, 0x7f}); // NaN, little-endian
        }
        Path out = tmp.resolve("out");
        RejectedException e = assertThrows(RejectedException.class, () -> merger().merge(base, adapter, out,
                MergeOptions.defaults()));
        Reason r = only(e, ReasonCode.NON_FINITE_WEIGHTS);
        assertEquals(b.name(), r.tensor());
        assertTrue(r.message().contains("element 5"), r.message());
        assertFalse(Files.exists(out) && hasSafetensors(out), "a rejected merge wrote safetensors files");
    }

    @Test
    void unknownConfigFieldWithNonDefaultValue() throws Exception {
        editConfig(c -> c.put("use_magic", true).putNull("harmless_unknown_null"));
        Reason r = expect(ReasonCode.UNKNOWN_CONFIG_FIELD, null);
        assertEquals("use_magic", r.detail());
    }

    @Test
    void inputTooLargeWhenTheAdapterWeightsPassTheSizeLimitAndNothingOfThemIsRead() throws Exception {
        Path weights = adapter.resolve("adapter_model.safetensors");
        long size = Files.size(weights);
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0, 0, 0, 0}); // read: HEADER_TOO_LARGE
        }
        InputLimits limits = new InputLimits(size - 1, SafetensorsHeader.MAX_HEADER_BYTES,
                InputLimits.DEFAULT_MAX_TENSOR_COUNT);
        Reason r = expect(ReasonCode.INPUT_TOO_LARGE, "adapter_model.safetensors", limits);
        assertEquals(InputLimits.ADAPTER_BYTES, r.detail());
        assertEquals("<= " + (size - 1) + " bytes", r.expected());
        assertEquals(size + " bytes", r.actual());
        assertTrue(r.message().contains(size + " bytes, above the limit of " + (size - 1)), r.message());
    }

    @Test
    void inputTooLargeWhenTheAdapterHeaderListsMoreTensorsThanTheLimit() throws Exception {
        InputLimits limits = new InputLimits(InputLimits.DEFAULT_MAX_ADAPTER_BYTES, SafetensorsHeader.MAX_HEADER_BYTES, 27);
        Reason r = expect(ReasonCode.INPUT_TOO_LARGE, "adapter_model.safetensors", limits); // the case has 28
        assertEquals(InputLimits.TENSOR_COUNT, r.detail());
        assertEquals("<= 27 tensors", r.expected());
        assertTrue(r.message().contains("more than the limit of 27 tensors"), r.message());
        InputLimits exact = new InputLimits(InputLimits.DEFAULT_MAX_ADAPTER_BYTES, SafetensorsHeader.MAX_HEADER_BYTES, 28);
        assertEquals(14, merger(exact).validate(base, adapter, MergeOptions.defaults()).counts().merged());
    }

    @Test
    void everyReasonIsReportedNotOnlyTheFirst() throws Exception {
        editConfig(c -> c.put("r", 4).put("use_magic", 1).put("bias", "some"));
        RejectedException e = assertThrows(RejectedException.class, this::validate);
        Set<ReasonCode> codes = EnumSet.noneOf(ReasonCode.class);
        e.reasons().forEach(r -> codes.add(r.code()));
        assertEquals(EnumSet.of(ReasonCode.ADAPTER_CONFIG_INVALID, ReasonCode.UNKNOWN_CONFIG_FIELD), codes);
    }

    // --- helpers ---

    private dev.mergeline.core.plan.MergePlan validate() throws Exception {
        return merger().validate(base, adapter, MergeOptions.defaults());
    }

    private static OfflineMerger merger() {
        return new OfflineMerger(new ReferenceMergeKernel());
    }

    private static OfflineMerger merger(InputLimits limits) {
        return new OfflineMerger(new ReferenceMergeKernel(), limits);
    }

    /** Validate and merge must both reject with {@code code}; the merge must leave no safetensors. */
    private Reason expect(ReasonCode code, String tensor) throws Exception {
        return expect(code, tensor, InputLimits.defaults());
    }

    private Reason expect(ReasonCode code, String tensor, InputLimits limits) throws Exception {
        RejectedException e = assertThrows(RejectedException.class,
                () -> merger(limits).validate(base, adapter, MergeOptions.defaults()));
        Reason r = only(e, code);
        if (tensor != null) {
            assertEquals(tensor, r.tensor());
        }
        Path out = tmp.resolve("out-" + code);
        assertThrows(RejectedException.class, () -> merger(limits).merge(base, adapter, out, MergeOptions.defaults()));
        assertFalse(Files.exists(out) && hasSafetensors(out), "a rejected merge wrote safetensors files");
        return r;
    }

    private Reason expectFromHeaders(ReasonCode code, String tensor, UnaryOperator<List<TensorInfo>> baseEdit,
            UnaryOperator<List<TensorInfo>> adapterEdit) throws Exception {
        MergeInputs inputs;
        try (LocalInputs in = LocalInputs.open(base, adapter)) {
            inputs = in.inputs();
        }
        SafetensorsHeader h = inputs.adapterHeader();
        MergeInputs edited = new MergeInputs(inputs.adapterConfigJson(),
                new SafetensorsHeader(h.headerLength(), h.metadata(), adapterEdit.apply(new ArrayList<>(h.tensors()))),
                inputs.baseConfigJson(), baseEdit.apply(new ArrayList<>(inputs.baseTensors())));
        RejectedException e = assertThrows(RejectedException.class,
                () -> new Validator().validate(edited, MergeOptions.defaults()));
        Reason r = only(e, code);
        if (tensor != null) {
            assertEquals(tensor, r.tensor());
        }
        return r;
    }

    private static Reason only(RejectedException e, ReasonCode code) {
        TESTED.add(code);
        assertEquals(1, e.reasons().size(), () -> "expected one reason, got " + e.reasons());
        Reason r = e.reasons().get(0);
        assertEquals(code, r.code(), r::toString);
        assertFalse(r.message().isBlank());
        return r;
    }

    private void editConfig(java.util.function.Consumer<ObjectNode> edit) throws IOException {
        Path p = adapter.resolve("adapter_config.json");
        ObjectNode config = (ObjectNode) JSON.readTree(p.toFile());
        edit.accept(config);
        JSON.writeValue(p.toFile(), config);
    }

    private static List<TensorInfo> remove(List<TensorInfo> list, String name) {
        assertTrue(list.removeIf(t -> t.name().equals(name)), "no tensor " + name);
        return list;
    }

    private static List<TensorInfo> replace(List<TensorInfo> list, String name, UnaryOperator<TensorInfo> f) {
        list.replaceAll(t -> t.name().equals(name) ? f.apply(t) : t);
        return list;
    }

    private static boolean hasSafetensors(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.anyMatch(p -> p.getFileName().toString().endsWith(".safetensors"));
        }
    }
}
