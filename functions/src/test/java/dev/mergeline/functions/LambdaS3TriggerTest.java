package dev.mergeline.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.contains;
import static org.hamcrest.Matchers.empty;

import dev.mergeline.devstack.KafkaTestResource;
import dev.mergeline.devstack.S3MockTestResource;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The S3 trigger invoked the way AWS Lambda invokes it: through Quarkus' Lambda mock event server
 * (the Lambda runtime API), with the notification JSON AWS sends.
 */
@QuarkusTest
@WithTestResource(KafkaTestResource.class)
@WithTestResource(S3MockTestResource.class)
class LambdaS3TriggerTest {

    @BeforeAll
    static void uploadBase() throws Exception {
        AdapterFunctionsTest.uploadTinyLlama();
    }

    @Test
    void lambdaInvocationRequestsAMerge() throws Exception {
        String id = "lambda-invoked";
        List<String> keys = AdapterFunctionsTest.uploadAdapter(id);
        // The mock event server plays the Lambda service: the POSTed body is the invocation event.
        given().port(18081).contentType("application/json").body(PipelineFixtures.notification(keys))
                .post("/")
                .then().statusCode(200)
                .body("requested", contains("s3://mergeline/adapters/" + id + "/"))
                .body("rejected", empty());
    }
}
