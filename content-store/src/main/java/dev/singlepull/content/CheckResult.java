package dev.singlepull.content;

import java.util.List;

/**
 * The outcome of checking one part of the store.
 *
 * @param checked  how many items were checked (blobs hashed, snapshot records compared, image records followed)
 * @param findings what was found, problems and leftovers alike
 */
public record CheckResult(long checked, List<Finding> findings) {
    public CheckResult {
        findings = List.copyOf(findings);
    }
}
