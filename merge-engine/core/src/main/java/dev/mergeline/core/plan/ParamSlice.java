package dev.mergeline.core.plan;

/**
 * Which part of a {@code target_parameters} delta (PEFT's {@code ParamWrapper}) one on-disk tensor holds.
 *
 * <p>PEFT stores the factors of a parameter of {@code experts} experts as {@code lora_A} [r·E, in] and
 * {@code lora_B} [out, r·E]; expert e's factors are {@code A_e = A[e·r .. e·r+r, :]} and
 * {@code B_e[:, k] = B[:, k·E + e]} (its {@code get_delta_weight} reshapes A to (E, r, in) and B to (out, r, E)).
 * The expert's delta in the parameter's own layout is {@code D_e = s·(B_e@A_e)} [out, in], or its transpose
 * [in, out] for experts modules transformers marks {@code is_transposed} (gpt-oss). A 2-d parameter (a router
 * weight) is the case E = 1.
 *
 * <p>The on-disk tensor is {@code D_e[firstRow .. firstRow+rows, firstCol .. firstCol+cols]} of one expert
 * (per-expert checkpoints: transformers' {@code MergeModulelist} stacks them, {@code Concatenate} puts gate before
 * up), or of every expert stacked ({@code expert = -1}: the checkpoint stores the fused parameter), transposed when
 * transformers' converter transposes it on loading.
 *
 * @param experts E, the number of experts in the factors (1 for a 2-d parameter)
 * @param expert the expert this tensor belongs to, or -1 when it holds all of them ([E, …])
 * @param transposedParameter the parameter is stored [E, in, out] ({@code is_transposed})
 * @param firstRow first row of {@code D_e} in this tensor
 * @param rows rows of {@code D_e} in this tensor
 * @param firstCol first column of {@code D_e} in this tensor
 * @param cols columns of {@code D_e} in this tensor
 * @param transposedOnDisk the tensor stores the block transposed
 */
public record ParamSlice(int experts, int expert, boolean transposedParameter, int firstRow, int rows, int firstCol,
        int cols, boolean transposedOnDisk) {

    public ParamSlice {
        if (experts < 1 || expert < -1 || expert >= experts || rows < 1 || cols < 1 || firstRow < 0 || firstCol < 0) {
            throw new IllegalArgumentException("bad parameter slice " + experts + "/" + expert + " [" + firstRow
                    + "+" + rows + ", " + firstCol + "+" + cols + "]");
        }
    }

    /** Whether the tensor holds every expert, stacked along its first dimension. */
    public boolean allExperts() {
        return expert < 0;
    }

    /** Rows one expert contributes to the tensor (viewed as 2-d: [experts·rowsPerExpert, columns]). */
    public int rowsPerExpert() {
        return transposedOnDisk ? cols : rows;
    }

    /** Columns of the tensor viewed as 2-d. */
    public int columns() {
        return transposedOnDisk ? rows : cols;
    }
}
