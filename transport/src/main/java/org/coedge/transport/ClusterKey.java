package org.coedge.transport;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import org.agrona.DirectBuffer;
import org.agrona.MutableDirectBuffer;

/**
 * The cluster's pre-shared key: the bytes of a file every node is given. Control messages carry an HMAC-SHA256 under
 * it, so a node without the key can neither join nor steer a cluster. Immutable; hand one {@link Authenticator} to
 * each thread that signs or verifies.
 */
public final class ClusterKey
{
    /** Fewer bytes than this are refused: a short key can be guessed. */
    public static final int MIN_KEY_BYTES = 16;
    /** Bytes of the MAC that follows every control message. */
    public static final int MAC_BYTES = 32;
    private static final String ALGORITHM = "HmacSHA256";

    private final byte[] key;

    private ClusterKey(final byte[] key)
    {
        this.key = key;
    }

    /**
     * @throws IllegalArgumentException if the file is missing or holds fewer than {@link #MIN_KEY_BYTES} bytes.
     */
    public static ClusterKey fromFile(final Path file)
    {
        final byte[] bytes;
        try
        {
            bytes = Files.readAllBytes(file);
        }
        catch (final NoSuchFileException e)
        {
            throw new IllegalArgumentException("key file " + file + " does not exist");
        }
        catch (final IOException e)
        {
            throw new IllegalArgumentException("key file " + file + " cannot be read: " + e.getMessage(), e);
        }
        return fromBytes(bytes, "key file " + file);
    }

    /** @param what names the key's source in the error. */
    public static ClusterKey fromBytes(final byte[] bytes, final String what)
    {
        if (bytes.length < MIN_KEY_BYTES)
        {
            throw new IllegalArgumentException(what + " holds " + bytes.length + " bytes; a cluster key needs at least " +
                MIN_KEY_BYTES);
        }
        return new ClusterKey(bytes.clone());
    }

    /** @return a signer and verifier for one thread. */
    public Authenticator newAuthenticator()
    {
        return new Authenticator(key);
    }

    /**
     * Signs and verifies messages for one thread: the message bytes are copied into a reused array and fed to the
     * JDK's HMAC-SHA256. Cold and control paths; not used for row blocks.
     */
    public static final class Authenticator
    {
        private final Mac mac;
        private final byte[] scratch = new byte[64 * 1024];
        private final byte[] computed = new byte[MAC_BYTES];
        private final byte[] received = new byte[MAC_BYTES];

        private Authenticator(final byte[] key)
        {
            try
            {
                mac = Mac.getInstance(ALGORITHM);
                mac.init(new SecretKeySpec(key, ALGORITHM));
            }
            catch (final GeneralSecurityException e)
            {
                throw new IllegalStateException("this JVM has no " + ALGORITHM, e);
            }
        }

        /** Writes the MAC of {@code length} bytes at {@code offset} to the {@link #MAC_BYTES} bytes that follow. */
        public void sign(final MutableDirectBuffer buffer, final int offset, final int length)
        {
            compute(buffer, offset, length);
            buffer.putBytes(offset + length, computed);
        }

        /**
         * @param length bytes of the message without its MAC, which follows it.
         * @return true if the MAC that follows matches.
         */
        public boolean verify(final DirectBuffer buffer, final int offset, final int length)
        {
            compute(buffer, offset, length);
            buffer.getBytes(offset + length, received);
            return MessageDigest.isEqual(computed, received);
        }

        private void compute(final DirectBuffer buffer, final int offset, final int length)
        {
            int done = 0;
            while (done < length)
            {
                final int n = Math.min(scratch.length, length - done);
                buffer.getBytes(offset + done, scratch, 0, n);
                mac.update(scratch, 0, n);
                done += n;
            }
            try
            {
                mac.doFinal(computed, 0);
            }
            catch (final GeneralSecurityException e)
            {
                throw new IllegalStateException(e);
            }
        }
    }
}
