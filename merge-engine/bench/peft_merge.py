"""(c) of merge-engine/bench/run.sh: what users do today to merge a LoRA adapter with PEFT.

    python peft_merge.py BASE_DIR ADAPTER_DIR OUT_DIR

Loads the base in bf16 as users do (transformers' from_pretrained), applies the adapter with
PeftModel.from_pretrained, merges with merge_and_unload() and writes the merged model with
save_pretrained() (safetensors). Prints the wall time of each phase as JSON on stdout.
"""
import json
import sys
import time

t0 = time.perf_counter()
import torch  # noqa: E402
from peft import PeftModel  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

base_dir, adapter_dir, out_dir = sys.argv[1:4]
t1 = time.perf_counter()
model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.bfloat16)
t2 = time.perf_counter()
model = PeftModel.from_pretrained(model, adapter_dir)
t3 = time.perf_counter()
model = model.merge_and_unload()
t4 = time.perf_counter()
model.save_pretrained(out_dir)
t5 = time.perf_counter()
print(json.dumps({"import_s": round(t1 - t0, 2), "load_base_s": round(t2 - t1, 2),
                  "load_adapter_s": round(t3 - t2, 2), "merge_s": round(t4 - t3, 2),
                  "save_s": round(t5 - t4, 2), "torch_threads": torch.get_num_threads()}))
