package dev.mergeline.functions;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/** Funqy input bean for an S3 event notification; the records are parsed by the events module. */
@JsonIgnoreProperties(ignoreUnknown = true)
public class S3NotificationInput {
    @JsonProperty("Records")
    public List<JsonNode> records;
}
