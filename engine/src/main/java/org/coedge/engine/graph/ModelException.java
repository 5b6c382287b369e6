package org.coedge.engine.graph;

/**
 * A model that cannot be loaded or prepared: malformed file, unsupported operator, bad attribute, shape mismatch.
 * The message names what is wrong and where (node name and operator) in one line, fit to show to a user.
 */
public class ModelException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public ModelException(final String message)
    {
        super(message);
    }

    public ModelException(final String message, final Throwable cause)
    {
        super(message, cause);
    }

    /** @return an exception whose message starts with the node's operator and name. */
    public static ModelException at(final Node node, final String message)
    {
        return new ModelException(node.describe() + ": " + message);
    }
}
