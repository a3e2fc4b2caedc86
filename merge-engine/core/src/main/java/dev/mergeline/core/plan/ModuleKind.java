package dev.mergeline.core.plan;

/** The kind of layer a LoRA pair applies to; it decides orientation and rounding of the delta. */
public enum ModuleKind {
    /** {@code nn.Linear}: W [out, in], ΔW = s·(B@A). */
    LINEAR,
    /** GPT-2 {@code Conv1D}: W [in, out], ΔW = s·(B@A)ᵀ (fan_in_fan_out). */
    CONV1D,
    /** {@code nn.Embedding}: W [num, dim], ΔW = s·(B_e@A_e)ᵀ, rounded to W's dtype before the add. */
    EMBEDDING,
    /**
     * A parameter PEFT targets with {@code target_parameters} ({@code ParamWrapper}): a router weight [out, in] or
     * one expert's slice of a fused expert parameter; ΔW from that expert's factors ({@link ParamSlice}), rounded to
     * W's dtype before the add.
     */
    PARAMETER
}
