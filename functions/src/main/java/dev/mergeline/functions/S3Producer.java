package dev.mergeline.functions;

import dev.mergeline.core.run.InputLimits;
import dev.mergeline.core.run.InputRules;
import dev.mergeline.s3.S3Clients;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.S3Settings;
import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import software.amazon.awssdk.services.s3.S3Client;

/** Wires the S3 package from configuration; the same code serves AWS, LocalStack and S3Mock. */
@ApplicationScoped
public class S3Producer {

    @Produces
    @ApplicationScoped
    @DefaultBean
    S3Client s3Client(MergelineConfig config) {
        MergelineConfig.S3 s3 = config.s3();
        return S3Clients.create(new S3Settings(s3.endpoint(), s3.region(), s3.pathStyle(), s3.accessKey(),
                s3.secretKey(), s3.maxAttempts()));
    }

    void close(@Disposes S3Client client) {
        client.close();
    }

    @Produces
    @ApplicationScoped
    S3Objects s3Objects(S3Client client) {
        return new S3Objects(client);
    }

    @Produces
    @ApplicationScoped
    InputRules inputRules(MergelineConfig config) {
        return new InputRules(inputLimits(config.limits()));
    }

    /** The configured limits; unset ones are core's defaults. */
    static InputLimits inputLimits(MergelineConfig.Limits configured) {
        return InputLimits.orDefaults(configured.maxAdapterBytes(), configured.maxHeaderBytes(),
                configured.maxTensorCount());
    }
}
