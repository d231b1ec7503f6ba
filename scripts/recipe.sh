# shellcheck shell=bash
# The refinement step's extra arguments, shared by scripts/default-model.sh
# and scripts/real-loso.sh so a leave-one-scanner-out fold is refined exactly
# like the shipped model. Expects $name (default or cart).
if [ "$name" = cart ]; then
    REFINE_ARGS=(--seed 1)
else
    REFINE_ARGS=()
fi
