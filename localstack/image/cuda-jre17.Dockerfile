# Base image of the CUDA merge worker (merge-engine/worker/pom.xml, profile image-cuda).
#
# Jib only adds layers to a base image; it cannot install a JRE. NVIDIA's CUDA images have no Java,
# so this base puts Eclipse Temurin's Java 17 JRE (Ubuntu 22.04 "jammy" build, the same glibc 2.35)
# onto NVIDIA's CUDA 12.8 + cuDNN 9 runtime image:
#
#   nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04   CUDA 12.8 runtime libraries (libcudart.so.12,
#                                                  libcublas.so.12, libcublasLt.so.12, libcufft.so.11,
#                                                  libcurand.so.10, ...) and cuDNN 9 (libcudnn.so.9)
#   eclipse-temurin:17-jre-jammy                   /opt/java/openjdk (Java 17 JRE)
#
# These are exactly the libraries ONNX Runtime 1.24's CUDA provider links against (readelf -d
# libonnxruntime_providers_cuda.so from com.microsoft.onnxruntime:onnxruntime_gpu:1.24.1: libcublasLt.so.12,
# libcublas.so.12, libcurand.so.10, libcufft.so.11, libcudart.so.12, libcudnn.so.9). The driver
# (libcuda.so.1) comes from the host through the NVIDIA Container Toolkit (`--gpus all`); CUDA 12's
# minor-version compatibility needs a driver >= 525.60.13.
#
# Build (once, needs Docker):
#   docker build -t mergeline/cuda-jre17:12.8.1-cudnn9 -f localstack/image/cuda-jre17.Dockerfile localstack/image
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04
ARG JRE_IMAGE=eclipse-temurin:17-jre-jammy

FROM ${JRE_IMAGE} AS jre

FROM ${CUDA_IMAGE}
ENV JAVA_HOME=/opt/java/openjdk \
    LANG=C.UTF-8
ENV PATH="${JAVA_HOME}/bin:${PATH}"
COPY --from=jre /opt/java/openjdk /opt/java/openjdk
# The same unprivileged user id as the CPU image's UBI OpenJDK base (185).
RUN useradd --uid 185 --gid 0 --home-dir /home/jboss --create-home --shell /usr/sbin/nologin jboss \
    && java -version
USER 185
WORKDIR /home/jboss
