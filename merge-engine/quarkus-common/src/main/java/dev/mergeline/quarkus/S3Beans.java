package dev.mergeline.quarkus;

import dev.mergeline.s3.S3Clients;
import dev.mergeline.s3.S3Objects;
import dev.mergeline.s3.TransferSettings;
import io.quarkus.arc.DefaultBean;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The S3 client and {@link S3Objects} from {@link MergelineSettings}; the same code serves AWS,
 * LocalStack and S3Mock. An app that moves large objects produces its own {@link TransferSettings}.
 */
@ApplicationScoped
public class S3Beans {

    @Produces
    @ApplicationScoped
    @DefaultBean
    S3Client s3Client(MergelineSettings settings) {
        return S3Clients.create(settings.s3().settings());
    }

    void closeClient(@Disposes S3Client client) {
        client.close();
    }

    /** Part size and concurrency of transfers, unless the app produces its own (a record: singleton, not proxied). */
    @Produces
    @Singleton
    @DefaultBean
    TransferSettings transferSettings() {
        return TransferSettings.DEFAULTS;
    }

    @Produces
    @ApplicationScoped
    S3Objects s3Objects(S3Client client, TransferSettings transfers) {
        return new S3Objects(client, transfers);
    }
}
