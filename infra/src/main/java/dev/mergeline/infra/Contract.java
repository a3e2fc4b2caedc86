package dev.mergeline.infra;

/**
 * Names fixed by the system contract (docs/contract.md) and the applications' configuration.
 * {@code FunctionZipTest} checks the handler, the Funqy exports and the functions' consumer group
 * against the real {@code functions/target/function.zip}.
 */
public final class Contract {
    private Contract() {
    }

    // S3 layout
    public static final String ADAPTERS = "adapters/";
    public static final String BASE_MODELS = "base-models/";
    public static final String MERGED = "merged/";

    // Kafka topics
    public static final String TOPIC_ADAPTER_UPLOADS = "adapter-uploads";
    public static final String TOPIC_MERGE_REQUESTS = "merge-requests";
    public static final String TOPIC_MERGED_MODEL_READY = "merged-model-ready";
    public static final String TOPIC_MERGE_FAILURES = "merge-failures";
    public static final String TOPIC_MERGE_PROGRESS = "merge-progress";

    // Consumer groups (functions/ and merge-engine/worker application.properties)
    public static final String GROUP_FUNCTIONS = "mergeline-functions";
    public static final String GROUP_WORKER = "mergeline-worker";

    /**
     * Lambda handler of the Quarkus Funqy function.zip (quarkus-funqy-amazon-lambda; Quarkus writes
     * the same string into functions/target/sam.jvm.yaml), and its two exported functions.
     */
    public static final String FUNQY_HANDLER = "io.quarkus.funqy.lambda.FunqyStreamHandler::handleRequest";
    public static final String EXPORT_S3 = "s3Trigger";
    public static final String EXPORT_KAFKA = "kafkaTrigger";
}
