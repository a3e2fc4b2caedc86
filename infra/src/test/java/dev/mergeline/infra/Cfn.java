package dev.mergeline.infra;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import software.amazon.awscdk.assertions.Template;

/** Small helpers over a synthesized template's JSON (maps and lists). */
final class Cfn {

    private Cfn() {
    }

    /** Logical id → properties of every resource of a type. */
    @SuppressWarnings("unchecked")
    static Map<String, Map<String, Object>> resources(Template template, String type) {
        Map<String, Object> all = (Map<String, Object>) Synth.json(template).get("Resources");
        Map<String, Map<String, Object>> out = new LinkedHashMap<>();
        all.forEach((id, r) -> {
            Map<String, Object> res = (Map<String, Object>) r;
            if (type.equals(res.get("Type"))) {
                Object props = res.get("Properties");
                out.put(id, props == null ? Map.of() : (Map<String, Object>) props);
            }
        });
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> resource(Template template, String logicalId) {
        Map<String, Object> all = (Map<String, Object>) Synth.json(template).get("Resources");
        return (Map<String, Object>) all.get(logicalId);
    }

    /**
     * Renders a value with intrinsics as a string: {@code Fn::Join} joined, {@code Ref} as
     * {@code ${Name}}, {@code Fn::GetAtt} as {@code ${Id.Attr}}.
     */
    @SuppressWarnings("unchecked")
    static String render(Object value) {
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof Map<?, ?> m) {
            if (m.containsKey("Ref")) {
                return "${" + m.get("Ref") + "}";
            }
            if (m.containsKey("Fn::GetAtt")) {
                List<Object> att = (List<Object>) m.get("Fn::GetAtt");
                return "${" + att.get(0) + "." + att.get(1) + "}";
            }
            if (m.containsKey("Fn::Join")) {
                List<Object> join = (List<Object>) m.get("Fn::Join");
                String sep = (String) join.get(0);
                return ((List<Object>) join.get(1)).stream().map(Cfn::render).collect(Collectors.joining(sep));
            }
        }
        return String.valueOf(value);
    }

    /** A string or a list of values, rendered. */
    @SuppressWarnings("unchecked")
    static List<String> renderAll(Object value) {
        if (value == null) {
            return List.of();
        }
        if (value instanceof List<?> l) {
            return ((List<Object>) l).stream().map(Cfn::render).toList();
        }
        return List.of(render(value));
    }

    /** One policy statement, with actions and resources rendered. */
    record Statement(String effect, List<String> actions, List<String> resources, Object condition,
            String source) {
        boolean allows() {
            return "Allow".equals(effect);
        }

        boolean hasAction(String action) {
            return actions.contains(action);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Statement> statements(Object policyDocument, String source) {
        List<Statement> out = new ArrayList<>();
        Map<String, Object> doc = (Map<String, Object>) policyDocument;
        for (Object s : (List<Object>) doc.get("Statement")) {
            Map<String, Object> st = (Map<String, Object>) s;
            out.add(new Statement((String) st.get("Effect"), renderAll(st.get("Action")),
                    renderAll(st.get("Resource")), st.get("Condition"), source));
        }
        return out;
    }

    /** Every statement of the AWS::IAM::Policy resources attached to a role, plus its inline policies. */
    @SuppressWarnings("unchecked")
    static List<Statement> roleStatements(Template template, String roleLogicalId) {
        List<Statement> out = new ArrayList<>();
        resources(template, "AWS::IAM::Policy").forEach((id, props) -> {
            List<Object> roles = (List<Object>) props.getOrDefault("Roles", List.of());
            if (roles.stream().anyMatch(r -> r instanceof Map<?, ?> m && roleLogicalId.equals(m.get("Ref")))) {
                out.addAll(statements(props.get("PolicyDocument"), id));
            }
        });
        Map<String, Object> role = resources(template, "AWS::IAM::Role").get(roleLogicalId);
        for (Object p : (List<Object>) role.getOrDefault("Policies", List.of())) {
            out.addAll(statements(((Map<String, Object>) p).get("PolicyDocument"), roleLogicalId));
        }
        return out;
    }

    /** Every policy document in the template: IAM policies, inline and managed, and resource policies. */
    @SuppressWarnings("unchecked")
    static List<Statement> allStatements(Template template) {
        List<Statement> out = new ArrayList<>();
        Map<String, Object> all = (Map<String, Object>) Synth.json(template).get("Resources");
        all.forEach((id, r) -> collect(((Map<String, Object>) r).get("Properties"), id, out));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static void collect(Object node, String id, List<Statement> out) {
        if (node instanceof Map<?, ?> m) {
            Map<String, Object> map = (Map<String, Object>) m;
            Object statement = map.get("Statement");
            if (statement instanceof List<?> && map.containsKey("Version")) {
                out.addAll(statements(map, id));
                return;
            }
            map.values().forEach(v -> collect(v, id, out));
        } else if (node instanceof List<?> l) {
            l.forEach(v -> collect(v, id, out));
        }
    }

    /** Logical id of the role of the Lambda whose QUARKUS_FUNQY_EXPORT is {@code export}. */
    @SuppressWarnings("unchecked")
    static String functionRole(Template template, String export) {
        return functionWithExport(template, export).map(props -> {
            Map<String, Object> role = (Map<String, Object>) props.get("Role");
            return (String) ((List<Object>) role.get("Fn::GetAtt")).get(0);
        }).orElseThrow(() -> new AssertionError("no Lambda with QUARKUS_FUNQY_EXPORT=" + export));
    }

    @SuppressWarnings("unchecked")
    static java.util.Optional<Map<String, Object>> functionWithExport(Template template, String export) {
        return resources(template, "AWS::Lambda::Function").values().stream().filter(props -> {
            Map<String, Object> env = (Map<String, Object>) props.get("Environment");
            if (env == null) {
                return false;
            }
            Map<String, Object> vars = (Map<String, Object>) env.get("Variables");
            return vars != null && export.equals(vars.get("QUARKUS_FUNQY_EXPORT"));
        }).findFirst();
    }

    @SuppressWarnings("unchecked")
    static String functionLogicalId(Template template, String export) {
        return resources(template, "AWS::Lambda::Function").entrySet().stream().filter(e -> {
            Map<String, Object> env = (Map<String, Object>) e.getValue().get("Environment");
            return env != null && export.equals(((Map<String, Object>) env.get("Variables")).get("QUARKUS_FUNQY_EXPORT"));
        }).map(Map.Entry::getKey).findFirst().orElseThrow();
    }

    /** Logical id of the worker's task role. */
    @SuppressWarnings("unchecked")
    static String workerTaskRole(Template template) {
        Map<String, Object> td = resources(template, "AWS::ECS::TaskDefinition").values().iterator().next();
        return (String) ((List<Object>) ((Map<String, Object>) td.get("TaskRoleArn")).get("Fn::GetAtt")).get(0);
    }
}
