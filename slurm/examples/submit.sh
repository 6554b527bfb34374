#!/bin/bash
# The sbatch commands of `mlrc slurm submit`, in dependency order; each job id is kept
# in a variable for the jobs that wait for it. The scripts lie beside this file.
set -euo pipefail
cd "$(dirname "$0")"
cache=$(sbatch --parsable cache.sbatch)
study_contrastive=$(sbatch --parsable --dependency=afterany:${cache} study-contrastive.sbatch)
retrain_contrastive=$(sbatch --parsable --dependency=afterany:${cache}:${study_contrastive} retrain-contrastive.sbatch)
study_multi_similarity=$(sbatch --parsable --dependency=afterany:${cache} study-multi_similarity.sbatch)
retrain_multi_similarity=$(sbatch --parsable --dependency=afterany:${cache}:${study_multi_similarity} retrain-multi_similarity.sbatch)
study_multi_similarity_miner=$(sbatch --parsable --dependency=afterany:${cache} study-multi_similarity_miner.sbatch)
retrain_multi_similarity_miner=$(sbatch --parsable --dependency=afterany:${cache}:${study_multi_similarity_miner} retrain-multi_similarity_miner.sbatch)
study_arcface=$(sbatch --parsable --dependency=afterany:${cache} study-arcface.sbatch)
retrain_arcface=$(sbatch --parsable --dependency=afterany:${cache}:${study_arcface} retrain-arcface.sbatch)
study_cosface=$(sbatch --parsable --dependency=afterany:${cache} study-cosface.sbatch)
retrain_cosface=$(sbatch --parsable --dependency=afterany:${cache}:${study_cosface} retrain-cosface.sbatch)
study_proxy_nca=$(sbatch --parsable --dependency=afterany:${cache} study-proxy_nca.sbatch)
retrain_proxy_nca=$(sbatch --parsable --dependency=afterany:${cache}:${study_proxy_nca} retrain-proxy_nca.sbatch)
study_proxy_anchor=$(sbatch --parsable --dependency=afterany:${cache} study-proxy_anchor.sbatch)
retrain_proxy_anchor=$(sbatch --parsable --dependency=afterany:${cache}:${study_proxy_anchor} retrain-proxy_anchor.sbatch)
study_cwms=$(sbatch --parsable --dependency=afterany:${cache} study-cwms.sbatch)
retrain_cwms=$(sbatch --parsable --dependency=afterany:${cache}:${study_cwms} retrain-cwms.sbatch)
study_mfcont=$(sbatch --parsable --dependency=afterany:${cache} study-mfcont.sbatch)
retrain_mfcont=$(sbatch --parsable --dependency=afterany:${cache}:${study_mfcont} retrain-mfcont.sbatch)
study_mfcwms=$(sbatch --parsable --dependency=afterany:${cache} study-mfcwms.sbatch)
retrain_mfcwms=$(sbatch --parsable --dependency=afterany:${cache}:${study_mfcwms} retrain-mfcwms.sbatch)
retrain_untrained=$(sbatch --parsable --dependency=afterany:${cache} retrain-untrained.sbatch)
tables=$(sbatch --parsable --dependency=afterany:${retrain_contrastive}:${retrain_multi_similarity}:${retrain_multi_similarity_miner}:${retrain_arcface}:${retrain_cosface}:${retrain_proxy_nca}:${retrain_proxy_anchor}:${retrain_cwms}:${retrain_mfcont}:${retrain_mfcwms}:${retrain_untrained} tables.sbatch)
