#!/bin/sh
# Writes to stdout a kustomization that deploys the kustomization at
# RESOURCE (a path relative to where the output is written; kustomize
# refuses absolute ones) into NAMESPACE with the image IMAGE:TAG.
# `make oc_deploy` writes it to .cache/oc_deploy/ and applies it with
# `oc apply -k`. Usage: kustomization-for.sh RESOURCE NAMESPACE IMAGE TAG
set -eu
[ "$#" -eq 4 ] || { echo "usage: $0 RESOURCE NAMESPACE IMAGE TAG" >&2; exit 2; }
cat <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: $2
resources:
  - $1
images:
  - name: train-prometheus
    newName: $3
    newTag: "$4"
YAML
