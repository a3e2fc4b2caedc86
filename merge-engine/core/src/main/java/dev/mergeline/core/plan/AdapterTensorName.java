package dev.mergeline.core.plan;

import java.util.Optional;

/**
 * A tensor name of {@code adapter_model.safetensors}, split into the module it belongs to (in the
 * namespace of the model PEFT wrapped) and its role.
 *
 * @param tensor the full tensor name in the adapter file
 * @param module module path with {@code base_model.model.}, {@code .base_layer}, {@code .token_adapter}
 *     and {@code .modules_to_save.<adapter>} removed
 * @param role what the tensor is
 * @param parameter for {@link Role#FULL}: the parameter name ({@code weight}, {@code bias}, ...)
 */
public record AdapterTensorName(String tensor, String module, Role role, String parameter) {

    public enum Role {
        LORA_A,
        LORA_B,
        LORA_B_BIAS,
        EMBEDDING_A,
        EMBEDDING_B,
        MAGNITUDE,
        /**
         * The trained rows of a {@code trainable_token_indices} embedding
         * ({@code <module>.token_adapter.trainable_tokens_delta}): they overwrite the weight's rows
         * at the configured token indices.
         */
        TOKEN_ROWS,
        /**
         * The untrained original beside a {@code modules_to_save} copy
         * ({@code <module>.original_module.<parameter>}); PEFT's merge discards it.
         */
        ORIGINAL_MODULE,
        /** A whole parameter that replaces (or adds) the base parameter of the same name. */
        FULL,
        /** A LoRA-like name this version does not understand. */
        UNKNOWN
    }

    private static final String PREFIX = "base_model.model.";

    /** The base tensor name this key replaces (FULL) — module + "." + parameter. */
    public String fullName() {
        return module.isEmpty() ? parameter : module + "." + parameter;
    }

    public static AdapterTensorName parse(String tensor) {
        String name = tensor.startsWith(PREFIX) ? tensor.substring(PREFIX.length()) : tensor;
        int original = name.indexOf(".original_module.");
        if (original > 0) {
            return new AdapterTensorName(tensor, name.substring(0, original), Role.ORIGINAL_MODULE,
                    name.substring(original + ".original_module.".length()));
        }
        name = name.replace(".base_layer.", ".");
        name = name.replace(".token_adapter.", ".");
        name = name.replaceAll("\\.modules_to_save\\.[^.]+\\.", ".");
        // save_embedding_layers writes a copy without the adapter name: <module>.modules_to_save.<parameter>
        name = name.replaceAll("\\.modules_to_save\\.(?=[^.]+$)", ".");
        for (Suffix s : Suffix.values()) {
            Optional<String> module = s.strip(name);
            if (module.isPresent()) {
                return new AdapterTensorName(tensor, module.get(), s.role, null);
            }
        }
        if (name.contains("lora_") || name.contains(".hada_") || name.contains(".lokr_")) {
            return new AdapterTensorName(tensor, name, Role.UNKNOWN, null);
        }
        int dot = name.lastIndexOf('.');
        String module = dot < 0 ? "" : name.substring(0, dot);
        return new AdapterTensorName(tensor, module, Role.FULL, name.substring(dot + 1));
    }

    /** Whether the tensor belongs to a {@code trainable_token_indices} wrapper ({@code .token_adapter.}). */
    public boolean tokenAdapter() {
        return tensor.contains(".token_adapter.");
    }

    /** Whether the tensor is a {@code modules_to_save} copy ({@code .modules_to_save.}). */
    public boolean moduleToSaveCopy() {
        return tensor.contains(".modules_to_save.");
    }

    /** Known LoRA suffixes, with and without an adapter name segment PEFT sometimes leaves in. */
    private enum Suffix {
        A(Role.LORA_A, ".lora_A.weight", ".lora_A.default.weight"),
        B(Role.LORA_B, ".lora_B.weight", ".lora_B.default.weight"),
        B_BIAS(Role.LORA_B_BIAS, ".lora_B.bias", ".lora_B.default.bias"),
        EA(Role.EMBEDDING_A, ".lora_embedding_A", ".lora_embedding_A.default", ".lora_embedding_A.weight"),
        EB(Role.EMBEDDING_B, ".lora_embedding_B", ".lora_embedding_B.default", ".lora_embedding_B.weight"),
        M(Role.MAGNITUDE, ".lora_magnitude_vector", ".lora_magnitude_vector.weight",
                ".lora_magnitude_vector.default.weight", ".lora_magnitude_vector.default"),
        ROWS(Role.TOKEN_ROWS, ".trainable_tokens_delta", ".trainable_tokens_delta.default");

        private final Role role;
        private final String[] endings;

        Suffix(Role role, String... endings) {
            this.role = role;
            this.endings = endings;
        }

        Optional<String> strip(String name) {
            for (String e : endings) {
                if (name.endsWith(e)) {
                    return Optional.of(name.substring(0, name.length() - e.length()));
                }
            }
            return Optional.empty();
        }
    }
}
