package dev.mergeline.infra;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The IAM resource ARNs MSK derives from a cluster ARN
 * ({@code arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID}): topics are
 * {@code arn:aws:kafka:REGION:ACCOUNT:topic/NAME/UUID/TOPIC}, consumer groups
 * {@code arn:aws:kafka:REGION:ACCOUNT:group/NAME/UUID/GROUP}.
 */
public record MskArns(String prefix, String clusterName, String clusterUuid) {

    private static final Pattern CLUSTER = Pattern.compile(
            "(arn:[a-z-]+:kafka:[a-z0-9-]+:[0-9A-Za-z-]+:)cluster/([A-Za-z0-9-]+)/([A-Za-z0-9-]+)");

    public static MskArns parse(String clusterArn) {
        Matcher m = CLUSTER.matcher(clusterArn == null ? "" : clusterArn.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException("not an MSK cluster ARN (arn:aws:kafka:REGION:ACCOUNT:cluster/NAME/UUID): "
                    + clusterArn);
        }
        return new MskArns(m.group(1), m.group(2), m.group(3));
    }

    public String cluster() {
        return prefix + "cluster/" + clusterName + "/" + clusterUuid;
    }

    public String topic(String topic) {
        return prefix + "topic/" + clusterName + "/" + clusterUuid + "/" + topic;
    }

    public String group(String group) {
        return prefix + "group/" + clusterName + "/" + clusterUuid + "/" + group;
    }
}
